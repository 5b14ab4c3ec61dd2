-- +goose Up
-- The relay reads pending rows in seq order across shards: an index of
-- only the pending rows, in seq order, keeps that read from walking the
-- rows already relayed (kept a minute for read-your-writes lookups).
DROP INDEX event_outbox_pending;
CREATE INDEX event_outbox_pending ON event_outbox (seq) INCLUDE (shard) WHERE published_at IS NULL;
-- A queue table: every row is inserted, updated once and deleted within
-- minutes. Vacuum it often so dead rows do not pile up in its indexes.
ALTER TABLE event_outbox SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0.0, autovacuum_vacuum_insert_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0);

-- +goose Down
ALTER TABLE event_outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
    autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold, autovacuum_vacuum_cost_delay);
DROP INDEX event_outbox_pending;
CREATE INDEX event_outbox_pending ON event_outbox (shard, seq) WHERE published_at IS NULL;
