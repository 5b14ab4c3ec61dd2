package integration

import (
	"testing"
)

// Migration 00035 gives sessions and matches recorded before it their
// lifecycle event counts (the aggregate version), and its Down migration
// removes what it added, so it can be applied again.
func TestReplayMigrationCountsExistingMatches(t *testing.T) {
	ctx := testCtx(t)
	pool, provider := migratingDB(t, ctx, "replaymig", 34)
	const id = "00000000-0000-4000-8000-0000000000a1"
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (id, game_id, host_id, state, version, snapshot, kafka_partition,
		first_offset, created_at, updated_at) VALUES ($1, $1, 'h', 3, 4, '\x', 1, 7, now(), now())`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO match_history (session_id, game_id, user_ids, ended_at, final_state, final_snapshot, kafka_topic,
		kafka_partition, first_offset, last_offset) VALUES ($1, $1, '{}', now(), 3, '\x', 't', 1, 7, 20)`, id); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := provider.UpTo(ctx, 35); err != nil {
			t.Fatal(err)
		}
		var sessCount, matchCount int64
		if err := pool.QueryRow(ctx, `SELECT s.event_count, m.session_event_count FROM sessions s JOIN match_history m
			ON m.session_id = s.id WHERE s.id = $1`, id).Scan(&sessCount, &matchCount); err != nil || sessCount != 4 || matchCount != 4 {
			t.Fatalf("counts after 00035: %d, %d (%v)", sessCount, matchCount, err)
		}
		if _, err := provider.DownTo(ctx, 34); err != nil {
			t.Fatal(err)
		}
		if n := 0; pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'live_event_ranges'`).Scan(&n) != nil || n != 0 {
			t.Fatal("live_event_ranges survived the Down migration")
		}
	}
}
