-- +goose Up
-- Where each projector is in each partition. Written in the same transaction
-- as the read-model changes, so a crash replays at most what was not
-- committed, and applying twice is impossible.
CREATE TABLE projector_offsets (
    projector   text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projector, topic, partition)
);

-- Records a projector could not decode. They are skipped (so one bad record
-- cannot stall a read model) but never silently.
CREATE TABLE projector_dead_letters (
    projector  text        NOT NULL,
    topic      text        NOT NULL,
    partition  integer     NOT NULL,
    "offset"   bigint      NOT NULL,
    event_type text        NOT NULL DEFAULT '',
    error      text        NOT NULL,
    payload    bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projector, topic, partition, "offset")
);

-- +goose Down
DROP TABLE projector_dead_letters;
DROP TABLE projector_offsets;
