-- +goose Up
-- The transactional outbox: a command writes its aggregate change and its
-- events in one PostgreSQL transaction (the single commit point), and the
-- relay (pkg/outbox) produces the rows to Kafka afterwards, in seq order per
-- shard. A row is the encoded record, so a re-send after a crash repeats the
-- same CloudEvents id. Published rows keep where they landed for a while
-- (read-your-writes of a command whose row another instance relayed), then
-- the relay deletes them.
CREATE TABLE event_outbox (
    seq             bigserial   PRIMARY KEY,
    shard           smallint    NOT NULL, -- hash of key: one relay at a time per shard keeps per-key order
    topic           text        NOT NULL,
    key             text        NOT NULL,
    event_id        uuid        NOT NULL,
    header_keys     text[]      NOT NULL,
    header_values   bytea[]     NOT NULL,
    payload         bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    kafka_partition integer,
    kafka_offset    bigint
);
CREATE INDEX event_outbox_pending ON event_outbox (shard, seq) WHERE published_at IS NULL;
CREATE INDEX event_outbox_published ON event_outbox (published_at) WHERE published_at IS NOT NULL;

-- Event ids a projector that is not idempotent by itself (counters) has
-- applied: a record the relay sent twice is applied once. Ids are UUIDv7,
-- so old entries are pruned by id order.
CREATE TABLE projector_seen_events (
    projector text NOT NULL,
    event_id  uuid NOT NULL,
    PRIMARY KEY (projector, event_id)
);

-- +goose Down
DROP TABLE projector_seen_events;
DROP TABLE event_outbox;
