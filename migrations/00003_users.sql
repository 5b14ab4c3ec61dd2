-- +goose Up
-- Read model of accounts, built by the users projector from oof.user.v1.
CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    username       text        NOT NULL,
    email          text        NOT NULL DEFAULT '',
    role           text        NOT NULL,
    auth_method    text        NOT NULL,
    twitch_user_id text,
    twitch_login   text,
    registered_at  timestamptz NOT NULL,
    last_login_at  timestamptz,
    login_count    bigint      NOT NULL DEFAULT 0,
    last_seen_at   timestamptz,
    revoked_sessions bigint    NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- +goose Down
DROP TABLE users;
