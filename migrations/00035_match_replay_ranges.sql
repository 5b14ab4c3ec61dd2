-- +goose Up
-- Match replay (docs/operations.md, Match history and replay): everything
-- `oof replay` needs to read exactly one match's events back from Kafka.

-- The sessions projector counts the lifecycle events it applies to a
-- session; match_history keeps the count with the range it already has
-- (kafka_topic/kafka_partition/first_offset/last_offset on oof.session.v1).
ALTER TABLE sessions ADD COLUMN event_count bigint NOT NULL DEFAULT 1;
ALTER TABLE match_history ADD COLUMN session_event_count bigint NOT NULL DEFAULT 0;
-- Rows from before this migration: every lifecycle event carries the next
-- aggregate version (SessionCreated is 1), so the version is the count.
UPDATE sessions SET event_count = version;
UPDATE match_history m SET session_event_count = s.version FROM sessions s WHERE s.id = m.session_id;
CREATE INDEX match_history_by_end ON match_history (ended_at, session_id);
CREATE INDEX match_history_by_user ON match_history USING gin (user_ids);

-- Where a session's live events are on oof.live.v1 (live projector, one
-- upsert per batch). A session's live events share one partition (keyed by
-- session id), so one range covers them; first/last only widen and the
-- count only takes offsets above the stored last, so a batch delivered
-- again changes nothing. session_id is text: the projector must not stall
-- on a key that is not a UUID.
CREATE TABLE live_event_ranges (
    session_id      text        PRIMARY KEY,
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    first_offset    bigint      NOT NULL,
    last_offset     bigint      NOT NULL,
    event_count     bigint      NOT NULL,
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL
);

-- +goose Down
DROP TABLE live_event_ranges;
DROP INDEX match_history_by_user;
DROP INDEX match_history_by_end;
ALTER TABLE match_history DROP COLUMN session_event_count;
ALTER TABLE sessions DROP COLUMN event_count;
