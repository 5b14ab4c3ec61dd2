-- +goose Up
-- A game's live sessions, and those of each host in it, are counted on
-- counter rows (aggregate_children) that CreateSession raises and the end of
-- a session lowers, in the same commit; creates used to count them with the
-- game locked. This fills the counters for the sessions that are live now.
-- Command processes of the previous version do not keep these counters:
-- stop them before this migration runs, or sessions they open meanwhile go
-- uncounted.
INSERT INTO aggregate_children AS c (parent_kind, parent_id, child_kind, live)
SELECT 'game', parent_id, 'session', count(*) FROM command_aggregates
WHERE kind = 'session' AND live AND parent_id IS NOT NULL
GROUP BY parent_id
ON CONFLICT (parent_kind, parent_id, child_kind) DO UPDATE SET live = excluded.live;

INSERT INTO aggregate_children AS c (parent_kind, parent_id, child_kind, live)
SELECT 'game-host', parent_id || '/' || owner_id, 'session', count(*) FROM command_aggregates
WHERE kind = 'session' AND live AND parent_id IS NOT NULL
GROUP BY parent_id, owner_id
ON CONFLICT (parent_kind, parent_id, child_kind) DO UPDATE SET live = excluded.live;

-- +goose Down
DELETE FROM aggregate_children WHERE child_kind = 'session' AND parent_kind IN ('game', 'game-host');
