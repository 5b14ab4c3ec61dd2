package integration

import (
	"testing"
)

// Migration 00016 counts the bytes of the live entities that sessions
// already hold, with or without a counter row, so the byte quota starts
// exact on an existing database; its Down migration drops the count.
func TestEntityBytesMigrationCountsExistingEntities(t *testing.T) {
	ctx := testCtx(t)
	pool, provider := migratingDB(t, ctx, "bytesmig", 15)
	// s1 has a counter row (from 00012), s2 none; dead entities do not count.
	if _, err := pool.Exec(ctx, `INSERT INTO command_aggregates (kind, id, parent_id, owner_id, live, version, state) VALUES
		('entity', 'e1', 's1', 'u', true, 1, '\x0102030405'),
		('entity', 'e2', 's1', 'u', true, 2, '\x010203'),
		('entity', 'e3', 's1', 'u', false, 2, '\x01020304050607'),
		('entity', 'e4', 's2', 'u', true, 1, '\x0102');
		INSERT INTO aggregate_children (parent_kind, parent_id, child_kind, live) VALUES ('session', 's1', 'entity', 2)`); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 16); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT parent_id, live, bytes FROM aggregate_children ORDER BY parent_id`)
	if err != nil {
		t.Fatal(err)
	}
	type counter struct {
		session     string
		live, bytes int64
	}
	var got []counter
	for rows.Next() {
		var c counter
		if err := rows.Scan(&c.session, &c.live, &c.bytes); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if rows.Err() != nil || len(got) != 2 || got[0] != (counter{"s1", 2, 8}) || got[1] != (counter{"s2", 1, 2}) {
		t.Fatalf("counters after 00016: %+v (%v)", got, rows.Err())
	}
	if _, err := provider.DownTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	if n := 0; pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_name = 'aggregate_children' AND column_name = 'bytes'`).Scan(&n) != nil || n != 0 {
		t.Fatal("the bytes column survived the Down migration")
	}
}
