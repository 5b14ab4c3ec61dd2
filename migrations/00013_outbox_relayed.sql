-- +goose Up
-- A relayed outbox row is deleted (no index entries to add, unlike an
-- update that marks it), so event_outbox holds only what is still to send.
-- Where each row landed is kept here for a minute, for read-your-writes of
-- a command whose rows another relay sent. Unlogged: after a crash of
-- PostgreSQL nobody is waiting for those positions any more.
CREATE UNLOGGED TABLE event_outbox_relayed (
    seq             bigint      PRIMARY KEY,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    relayed_at      timestamptz NOT NULL DEFAULT now()
);
DELETE FROM event_outbox WHERE published_at IS NOT NULL;
DROP INDEX event_outbox_published;

-- +goose Down
CREATE INDEX event_outbox_published ON event_outbox (published_at) WHERE published_at IS NOT NULL;
DROP TABLE event_outbox_relayed;
