-- +goose Up
-- Read model of sessions (sessions projector, oof.session.v1).
CREATE TABLE sessions (
    id           uuid        PRIMARY KEY,
    game_id      uuid        NOT NULL,
    host_id      text        NOT NULL,
    state        integer     NOT NULL,
    version      bigint      NOT NULL,
    snapshot     bytea       NOT NULL, -- v1.api.game.Session, returned as is
    kafka_partition integer  NOT NULL,
    first_offset bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    started_at   timestamptz,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX sessions_live_by_game ON sessions (game_id, id) WHERE state NOT IN (3, 4);

-- One row per finished match, for operators replaying match history.
CREATE TABLE match_history (
    session_id      uuid        PRIMARY KEY,
    game_id         uuid        NOT NULL,
    user_ids        text[]      NOT NULL,
    started_at      timestamptz,
    ended_at        timestamptz NOT NULL,
    final_state     integer     NOT NULL,
    final_snapshot  bytea       NOT NULL, -- v1.api.game.Session (attributes, data)
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    first_offset    bigint      NOT NULL,
    last_offset     bigint      NOT NULL
);
CREATE INDEX match_history_by_game ON match_history (game_id, ended_at);

-- +goose Down
DROP TABLE match_history;
DROP TABLE sessions;
