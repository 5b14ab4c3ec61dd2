-- +goose Up
-- Command-side write model of games, sessions, entities and players:
-- current snapshot + version for optimistic concurrency. Not a read model.
CREATE TABLE command_aggregates (
    kind       text        NOT NULL,
    id         text        NOT NULL,
    parent_id  text,
    owner_id   text        NOT NULL,
    live       boolean     NOT NULL,
    version    bigint      NOT NULL,
    state      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
CREATE INDEX command_aggregates_children ON command_aggregates (kind, parent_id) WHERE live;

-- Read model of games (games projector, oof.game.v1). Ids are UUIDv7, so id
-- order is creation order and keyset pages never skip or repeat a game.
CREATE TABLE games (
    id          uuid        PRIMARY KEY,
    owner_id    text        NOT NULL,
    version     bigint      NOT NULL,
    snapshot    bytea       NOT NULL, -- v1.api.game.Game, returned as is
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Trending score per game: log of the sum of exp((t - epoch)/tau) over
-- activity events, so adding an event is exact and ranking is unaffected by
-- the passage of time. Kept here (exactly once, with the offsets) and
-- mirrored into a Redis sorted set for the query side.
CREATE TABLE game_trend (
    game_id    uuid             PRIMARY KEY,
    log_score  double precision NOT NULL,
    events     bigint           NOT NULL,
    updated_at timestamptz      NOT NULL
);

-- +goose Down
DROP TABLE game_trend;
DROP TABLE games;
DROP TABLE command_aggregates;
