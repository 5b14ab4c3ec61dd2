-- +goose Up
-- Read model of player profiles (players projector, oof.player.v1). The
-- command side keeps its own state in command_aggregates (kind 'player').
-- Ids are text: a HUMAN player's id is its user's id, an AI player's id is
-- generated; both are UUIDs today, but the contract types them as strings.
CREATE TABLE players (
    id         text        PRIMARY KEY,
    -- The user the profile belongs to (HUMAN) or who created it (AI); the
    -- query side shows the e-mail only to this user and to admins.
    owner_id   text        NOT NULL,
    version    bigint      NOT NULL,
    snapshot   bytea       NOT NULL, -- v1.api.player.Player, returned as is
    type       integer     NOT NULL, -- v1.api.player.PlayerType
    updated_at timestamptz NOT NULL
);
CREATE INDEX players_by_owner ON players (owner_id);

-- +goose Down
DROP TABLE players;
