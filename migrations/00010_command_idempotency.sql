-- +goose Up
-- The first outcome of each create command sent with an idempotency key,
-- written in the command's own transaction: a retry with the same key (by
-- the same caller, for the same command) gets this outcome back instead of
-- creating a second object. Kept for a day (pruned by the command target).
CREATE TABLE command_idempotency (
    caller       text        NOT NULL,
    command      text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    result       bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, command, key)
);
CREATE INDEX command_idempotency_age ON command_idempotency (created_at);

-- +goose Down
DROP TABLE command_idempotency;
