-- +goose Up
-- Personal-data keys (docs/events.md, "Personal data"): one AES-256 key per
-- person (a user id) seals the personal fields of that person's events, so an
-- erasure destroys the key instead of rewriting the log. Command side only:
-- the commands seal with the subject's live key, the projectors and
-- `oof tail` open with the key id an event names. Erasure sets dek to NULL
-- and erased_at; the row stays as a tombstone, so readers also know that
-- the legacy plaintext fields of an erased subject are erased (a subject
-- with no key gets a tombstone row of its own). A subject gets a new key
-- when personal data is sealed for it after an erasure.
CREATE TABLE personal_keys (
    key_id     uuid        PRIMARY KEY,
    subject_id text        NOT NULL,
    dek        bytea       CHECK (dek IS NULL OR octet_length(dek) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    CHECK ((dek IS NULL) = (erased_at IS NOT NULL))
);
-- At most one live key per subject; erased rows are looked up by subject.
CREATE UNIQUE INDEX personal_keys_live ON personal_keys (subject_id) WHERE erased_at IS NULL;
CREATE INDEX personal_keys_subject ON personal_keys (subject_id);

-- +goose Down
DROP TABLE personal_keys;
