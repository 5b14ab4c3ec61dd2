-- +goose Up
-- Read models of the scores projector (oof.score.v1, docs/scores.md).
--
-- scores: every submission, as submitted (history; GetPlayerScores). The
-- primary key is the submission's id, so a redelivered event inserts
-- nothing, and that is also how the boards below count each event once.
CREATE TABLE scores (
    id           uuid        PRIMARY KEY,
    player_id    text        NOT NULL,
    game_id      uuid        NOT NULL,
    score_type   text        NOT NULL,
    value        bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    submitted_by text        NOT NULL,
    snapshot     bytea       NOT NULL -- v1.api.score.Score, returned as is
);
CREATE INDEX scores_by_player ON scores (player_id, created_at DESC, id DESC);
CREATE INDEX scores_by_player_game ON scores (player_id, game_id, created_at DESC, id DESC);

-- score_boards: each player's standing on each board, the source the Redis
-- sorted sets are copied from (a Redis rebuild reads only this table).
-- board is "<game id or *>:<score_type>:<period id>", e.g.
-- "0193…:points:weekly:2026-W48"; sign is -1 for boards ranked lowest first.
CREATE TABLE score_boards (
    board      text        NOT NULL,
    player_id  text        NOT NULL,
    value      bigint      NOT NULL,
    reached_at timestamptz NOT NULL, -- when the player reached value (ties: earlier first)
    score_id   uuid        NOT NULL, -- the submission that set it
    sign       smallint    NOT NULL,
    PRIMARY KEY (board, player_id)
);
CREATE INDEX score_boards_by_player ON score_boards (player_id);

-- score_board_updates: when each board last received a submission
-- (Leaderboard.last_updated), from the events' times.
CREATE TABLE score_board_updates (
    board      text        PRIMARY KEY,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE score_board_updates;
DROP TABLE score_boards;
DROP TABLE scores;
