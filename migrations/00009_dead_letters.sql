-- +goose Up
-- Dead letters become records an operator can inspect and re-drive: any
-- record a projector cannot apply (not only undecodable ones) lands here
-- after a few attempts, with everything needed to apply it again later.
-- Rows written before this migration keep their data: they get an id, one
-- attempt, their created_at as first and last failure, and status 'dead'.
ALTER TABLE projector_dead_letters RENAME COLUMN created_at TO first_failed_at;
ALTER TABLE projector_dead_letters
    ADD COLUMN id             bigserial,
    ADD COLUMN event_id       text        NOT NULL DEFAULT '', -- CloudEvents ce_id, '' if absent
    ADD COLUMN record_key     bytea,                           -- the Kafka record's key
    -- The Kafka record's headers in order: [{"key": "...", "value": "<base64>"}].
    ADD COLUMN headers        jsonb       NOT NULL DEFAULT '[]',
    ADD COLUMN attempts       integer     NOT NULL DEFAULT 1,
    ADD COLUMN last_failed_at timestamptz,
    ADD COLUMN status         text        NOT NULL DEFAULT 'dead',
    ADD COLUMN redriven_at    timestamptz;
UPDATE projector_dead_letters SET last_failed_at = first_failed_at;
ALTER TABLE projector_dead_letters
    ALTER COLUMN last_failed_at SET NOT NULL,
    ALTER COLUMN last_failed_at SET DEFAULT now(),
    ADD CONSTRAINT projector_dead_letters_id_key UNIQUE (id),
    ADD CONSTRAINT projector_dead_letters_status_check CHECK (status IN ('dead', 'redriven')),
    ADD CONSTRAINT projector_dead_letters_redriven_check CHECK ((status = 'redriven') = (redriven_at IS NOT NULL));
-- What is still open, per projector: the open-dead-letters gauge and
-- `oof deadletters list` read only these.
CREATE INDEX projector_dead_letters_open ON projector_dead_letters (projector, id) WHERE status = 'dead';

-- +goose Down
DROP INDEX projector_dead_letters_open;
ALTER TABLE projector_dead_letters
    DROP CONSTRAINT projector_dead_letters_redriven_check,
    DROP CONSTRAINT projector_dead_letters_status_check,
    DROP CONSTRAINT projector_dead_letters_id_key,
    DROP COLUMN redriven_at,
    DROP COLUMN status,
    DROP COLUMN last_failed_at,
    DROP COLUMN attempts,
    DROP COLUMN headers,
    DROP COLUMN record_key,
    DROP COLUMN event_id,
    DROP COLUMN id;
ALTER TABLE projector_dead_letters RENAME COLUMN first_failed_at TO created_at;
