package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
)

// After a rebuild, read-your-writes waits for the rebuilt projector: what
// the waiter knew of the old progress is forgotten (the rebuild announces
// it), so a wait for an event the old model had passed no longer ends at
// once while the rebuilt model still lacks it.
func TestWaiterForgetsProgressOnRebuild(t *testing.T) {
	ctx := testCtx(t)
	cfg := env.Cfg
	var pool *pgxpool.Pool
	cfg.PostgresURL, pool = migratedDatabase(t, ctx, "rebuildwait")
	w := projection.NewWaiter(pool, env.Log)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = w.Run(runCtx) }()

	topic := cfg.Topic("oof.session.v1")
	old := eventlog.Position{Topic: topic, Partition: 0, Offset: 1500}
	w.Advance("sessions", topic, 0, 2000) // the model had passed it
	if err := waitBriefly(ctx, w, "sessions", old, 50*time.Millisecond); err != nil {
		t.Fatalf("before the rebuild: %v", err)
	}
	if err := platform.Rebuild(ctx, cfg, "sessions", env.Log); err != nil {
		t.Fatal(err)
	}
	// The reset reaches the waiter by NOTIFY; from then on the wait must
	// not end: the rebuilt model has applied nothing yet.
	waitFor(t, func() bool {
		return errors.Is(waitBriefly(ctx, w, "sessions", old, 100*time.Millisecond), context.DeadlineExceeded)
	})
	// The rebuilt projector's progress ends it again.
	done := make(chan error, 1)
	go func() { done <- waitBriefly(ctx, w, "sessions", old, 5*time.Second) }()
	time.Sleep(50 * time.Millisecond)
	w.Advance("sessions", topic, 0, 1501)
	if err := <-done; err != nil {
		t.Fatalf("after the rebuilt projector passed the event: %v", err)
	}
	// Another projector's marks were not touched.
	w.Advance("games", topic, 0, 10)
	if err := waitBriefly(ctx, w, "games", eventlog.Position{Topic: topic, Offset: 5}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func waitBriefly(ctx context.Context, w *projection.Waiter, projector string, pos eventlog.Position, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return w.WaitFor(wctx, projector, pos)
}

// migratedDatabase makes a database of its own for a test (no platform
// relays or projects into it) with the current schema; it is dropped with
// the environment.
func migratedDatabase(t *testing.T, ctx context.Context, suffix string) (string, *pgxpool.Pool) {
	t.Helper()
	url, err := env.CreateDatabase(ctx, suffix)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.Connect(ctx, url, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := db.Migrate(ctx, pool, env.Log); err != nil {
		t.Fatal(err)
	}
	return url, pool
}
