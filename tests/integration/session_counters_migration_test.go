package integration

import (
	"slices"
	"testing"
)

// Migration 00044 counts the live sessions that games and their hosts
// already have, so the session caps start exact on an existing database;
// ended sessions do not count, and its Down migration drops the counters.
func TestSessionCountersMigrationCountsLiveSessions(t *testing.T) {
	ctx := testCtx(t)
	pool, provider := migratingDB(t, ctx, "sesscount", 43)
	if _, err := pool.Exec(ctx, `INSERT INTO command_aggregates (kind, id, parent_id, owner_id, live, version, state) VALUES
		('session', 's1', 'g1', 'alice', true, 1, ''),
		('session', 's2', 'g1', 'alice', true, 1, ''),
		('session', 's3', 'g1', 'bob', true, 3, ''),
		('session', 's4', 'g1', 'bob', false, 4, ''),
		('session', 's5', 'g2', 'bob', false, 2, ''),
		('entity', 'e1', 's1', 'alice', true, 1, '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 44); err != nil {
		t.Fatal(err)
	}
	counters := func() []string {
		rows, err := pool.Query(ctx, `SELECT parent_kind || ' ' || parent_id || ' ' || live FROM aggregate_children
			WHERE child_kind = 'session' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	want := []string{"game g1 3", "game-host g1/alice 2", "game-host g1/bob 1"}
	if got := counters(); !slices.Equal(got, want) {
		t.Fatalf("counters after 00044: %q, want %q", got, want)
	}
	if _, err := provider.DownTo(ctx, 43); err != nil {
		t.Fatal(err)
	}
	if got := counters(); len(got) != 0 {
		t.Fatalf("counters after 00044 down: %q", got)
	}
}
