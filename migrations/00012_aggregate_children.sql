-- +goose Up
-- How many live children of a kind an aggregate has (a session's
-- entities), kept by the commands that create and end them, so a cap is
-- checked by one row instead of counting (which grew with every child) and
-- holds exactly under concurrency (the row is locked for the moment of the
-- increment).
CREATE TABLE aggregate_children (
    parent_kind text    NOT NULL,
    parent_id   text    NOT NULL,
    child_kind  text    NOT NULL,
    live        integer NOT NULL CHECK (live >= 0),
    PRIMARY KEY (parent_kind, parent_id, child_kind)
);
INSERT INTO aggregate_children (parent_kind, parent_id, child_kind, live)
SELECT 'session', parent_id, 'entity', count(*) FROM command_aggregates
WHERE kind = 'entity' AND live AND parent_id IS NOT NULL
GROUP BY parent_id;

-- +goose Down
DROP TABLE aggregate_children;
