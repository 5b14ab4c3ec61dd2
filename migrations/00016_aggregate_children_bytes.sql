-- +goose Up
-- How many bytes a parent's live children hold together (a session's
-- entities, by their stored encoding), kept on the same row and in the same
-- transaction as the live count, so a quota on a session's total size holds
-- exactly under concurrency, like the count.
ALTER TABLE aggregate_children ADD COLUMN bytes bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0);
INSERT INTO aggregate_children AS c (parent_kind, parent_id, child_kind, live, bytes)
SELECT 'session', parent_id, 'entity', count(*), sum(octet_length(state)) FROM command_aggregates
WHERE kind = 'entity' AND live AND parent_id IS NOT NULL
GROUP BY parent_id
ON CONFLICT (parent_kind, parent_id, child_kind) DO UPDATE SET bytes = excluded.bytes;

-- +goose Down
ALTER TABLE aggregate_children DROP COLUMN bytes;
