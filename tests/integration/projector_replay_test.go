package integration

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector/users"
	"github.com/oof-gg/platform/tests/harness"
)

// crashAfter stops its projector's run (as a kill would) while it is in the
// middle of applying the n-th event, inside an open transaction.
type crashAfter struct {
	projection.Projector
	n, seen atomic.Int64
	kill    context.CancelFunc
}

func (c *crashAfter) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	if err := c.Projector.Apply(ctx, tx, env, msg); err != nil {
		return err
	}
	if c.seen.Add(1) == c.n.Load() {
		c.kill()
		return ctx.Err()
	}
	return nil
}

// A projector killed mid-stream and restarted ends with exactly the table a
// fresh replay from offset 0 builds, which is also the live read model.
func TestUsersProjectorCrashRestartEqualsReplay(t *testing.T) {
	ctx := testCtx(t)
	for i := range 15 {
		a := register(t, ctx, fmt.Sprintf("rp%d", i))
		if _, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: a.username, Password: a.password}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	topic := env.Topic("oof.user.v1")
	end := topicEnd(t, topic)

	crashed := newProjectionDB(t, ctx, "crash")
	runCtx, kill := context.WithCancel(ctx)
	crasher := &crashAfter{Projector: users.New(topic, personal.NewKeys(env.Pool, nil)), kill: kill}
	crasher.n.Store(20)
	runProjector(t, runCtx, crasher, crashed, "crash"+harness.RandomID(3)+".", 1)
	if got := crasher.seen.Load(); got < 20 {
		t.Fatalf("projector stopped after %d events, before the crash point", got)
	}
	if caughtUp(t, ctx, crashed, topic, end) {
		t.Fatal("the crashed projector had already applied everything; the crash proves nothing")
	}
	// Restart: a new process resumes from the offsets in PostgreSQL.
	runUntilCaughtUp(t, ctx, users.New(topic, personal.NewKeys(env.Pool, nil)), crashed, topic, end, "restart"+harness.RandomID(3)+".")

	fresh := newProjectionDB(t, ctx, "fresh")
	runUntilCaughtUp(t, ctx, users.New(topic, personal.NewKeys(env.Pool, nil)), fresh, topic, end, "fresh"+harness.RandomID(3)+".")

	waitCaughtUp(t, ctx, env.Pool, topic, end)
	live, a, b := dump(t, ctx, env.Pool, readModels["users"]), dump(t, ctx, crashed, readModels["users"]), dump(t, ctx, fresh, readModels["users"])
	if len(live) < 15 {
		t.Fatalf("live read model has only %d users", len(live))
	}
	if !slices.Equal(a, b) {
		t.Fatalf("crash+restart (%d rows) differs from fresh replay (%d rows)", len(a), len(b))
	}
	if !slices.Equal(live, b) {
		t.Fatalf("live read model (%d rows) differs from fresh replay (%d rows)", len(live), len(b))
	}
}

func newProjectionDB(t *testing.T, ctx context.Context, suffix string) *pgxpool.Pool {
	t.Helper()
	url, err := env.CreateDatabase(ctx, suffix)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := db.Migrate(ctx, pool, env.Log); err != nil {
		t.Fatal(err)
	}
	return pool
}

// runProjector runs proj until ctx ends.
func runProjector(t *testing.T, ctx context.Context, proj projection.Projector, pool *pgxpool.Pool, group string, batch int) {
	t.Helper()
	sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: env.Cfg.KafkaBrokers, Version: env.Cfg.KafkaVersion, ClientID: "test-projector"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient(env.Cfg.KafkaBrokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_ = projection.NewRunner(proj, pool, client, group, batch, env.Log).Run(ctx)
}

func runUntilCaughtUp(t *testing.T, ctx context.Context, proj projection.Projector, pool *pgxpool.Pool, topic string, end map[int32]int64, group string) {
	t.Helper()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); runProjector(t, runCtx, proj, pool, group, 500) }()
	waitCaughtUp(t, ctx, pool, topic, end)
	stop()
	<-done
}

func topicEnd(t *testing.T, topic string) map[int32]int64 {
	t.Helper()
	partitions, err := env.Kafka.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	end := map[int32]int64{}
	for _, p := range partitions {
		if end[p], err = env.Kafka.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			t.Fatal(err)
		}
	}
	return end
}

func caughtUp(t *testing.T, ctx context.Context, pool *pgxpool.Pool, topic string, end map[int32]int64) bool {
	t.Helper()
	for p, want := range end {
		var next int64
		err := pool.QueryRow(ctx, `SELECT coalesce(max(next_offset), 0) FROM projector_offsets
			WHERE projector = 'users' AND topic = $1 AND partition = $2`, topic, p).Scan(&next)
		if err != nil {
			t.Fatal(err)
		}
		if next < want {
			return false
		}
	}
	return true
}

func waitCaughtUp(t *testing.T, ctx context.Context, pool *pgxpool.Pool, topic string, end map[int32]int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !caughtUp(t, ctx, pool, topic, end) {
		if time.Now().After(deadline) {
			t.Fatal("projector did not catch up within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
