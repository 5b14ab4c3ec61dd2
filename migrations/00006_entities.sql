-- +goose Up
-- Read model of entities (entities projector, oof.entity.v1). The projector
-- also keeps a live copy of each entity in Redis for GetEntity; this table
-- is the exactly-once source the copy is made from and read on a miss.
CREATE TABLE entities (
    id          uuid        PRIMARY KEY,
    session_id  uuid        NOT NULL,
    game_id     uuid        NOT NULL,
    version     bigint      NOT NULL,
    deleted     boolean     NOT NULL DEFAULT false,
    snapshot    bytea       NOT NULL, -- v1.api.game.Entity (last state when deleted)
    updated_at  timestamptz NOT NULL
);
-- Listing a session's entities (ids are UUIDv7: id order is creation order).
CREATE INDEX entities_live_by_session ON entities (session_id, id) WHERE NOT deleted;

-- +goose Down
DROP TABLE entities;
