package integration

import (
	"context"
	"testing"
	"time"

	"github.com/oof-gg/platform/pkg/projection"
)

// Dead letters written before migration 00009 (undecodable records) stay
// readable and re-drivable after it, and its Down migration gives them back
// their old shape.
func TestDeadLetterMigrationKeepsOldRows(t *testing.T) {
	ctx := testCtx(t)
	pool, provider := migratingDB(t, ctx, "dlmig", 8)
	failedAt := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := pool.Exec(ctx, `INSERT INTO projector_dead_letters
		(projector, topic, partition, "offset", event_type, error, payload, created_at)
		VALUES ('users', 'oof.user.v1', 2, 41, 'oof.events.v1.Gone', 'unknown event type', '\x0102', $1)`, failedAt); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	list, err := projection.ListDeadLetters(ctx, pool, projection.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d dead letters after the migration, want the old one", len(list))
	}
	d := list[0]
	if d.ID == 0 || d.Projector != "users" || d.Partition != 2 || d.Offset != 41 || d.EventType != "oof.events.v1.Gone" ||
		d.Attempts != 1 || d.Status != projection.StatusDead || !d.FirstFailedAt.Equal(failedAt) ||
		!d.LastFailedAt.Equal(failedAt) || string(d.Payload) != "\x01\x02" || len(d.Headers) != 0 || d.EventID != "" {
		t.Fatalf("old dead letter after the migration: %+v", d)
	}

	if _, err := provider.DownTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	var createdAt time.Time
	if err := pool.QueryRow(ctx, `SELECT created_at FROM projector_dead_letters WHERE "offset" = 41`).Scan(&createdAt); err != nil {
		t.Fatal(err)
	}
	if !createdAt.Equal(failedAt) {
		t.Fatalf("created_at after Down: %v, want %v", createdAt, failedAt)
	}
	if _, err := provider.Up(context.Background()); err != nil {
		t.Fatalf("up again after down: %v", err)
	}
}
