package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector/sessions"
	"github.com/oof-gg/platform/tests/harness"
)

// The sessions projector's batched apply (ApplyAll: rows read once,
// events folded in memory, each row written once) leaves exactly the
// tables its per-event Apply leaves, for any split of the log into
// batches: version guards, redeliveries, deletes, a second create, a match
// finishing, and ids PostgreSQL reads but Go would not take as they are.
func TestSessionsBatchApplyEqualsApply(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events := sessionsLog()
	one := migratedPool(t, ctx)
	p := sessions.New("t.oof.session.v1")
	for _, ev := range events {
		if err := pgx.BeginFunc(ctx, one, func(tx pgx.Tx) error { return p.Apply(ctx, tx, ev.Env, ev.Msg) }); err != nil {
			t.Fatalf("Apply %s@%d: %v", ev.Env.Type, ev.Env.Offset, err)
		}
	}
	want := dumpSessions(t, ctx, one)
	if !strings.Contains(want, "match_history") {
		t.Fatal("no match finished: the comparison proves little")
	}
	for _, size := range []int{1, 2, 3, 4, 7, len(events)} {
		batched := migratedPool(t, ctx)
		for i := 0; i < len(events); i += size {
			chunk := events[i:min(i+size, len(events))]
			if err := pgx.BeginFunc(ctx, batched, func(tx pgx.Tx) error { return p.ApplyAll(ctx, tx, chunk) }); err != nil {
				t.Fatalf("ApplyAll of %d from %d: %v", len(chunk), i, err)
			}
		}
		if got := dumpSessions(t, ctx, batched); got != want {
			t.Errorf("batches of %d:\n got %s\nwant %s", size, got, want)
		}
	}
}

func migratedPool(t *testing.T, ctx context.Context) *pgxpool.Pool {
	t.Helper()
	e, err := harness.New(ctx, env.Infra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	if err := db.Migrate(ctx, e.Pool, e.Log); err != nil {
		t.Fatal(err)
	}
	return e.Pool
}

func dumpSessions(t *testing.T, ctx context.Context, pool *pgxpool.Pool) string {
	t.Helper()
	var out []string
	for _, table := range []string{"sessions", "match_history"} {
		var rows []string
		r, err := pool.Query(ctx, `SELECT row_to_json(t)::text FROM `+table+` t ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		if rows, err = pgx.CollectRows(r, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			out = append(out, table+" "+row)
		}
	}
	return strings.Join(out, "\n")
}

// sessionsLog is a partition's worth of lifecycle events with the awkward
// cases in it.
func sessionsLog() []projection.Event {
	var out []projection.Event
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	add := func(m proto.Message) {
		out = append(out, projection.Event{Msg: m, Env: eventlog.Envelope{Topic: "t.oof.session.v1", Partition: 2,
			Offset: int64(100 + len(out)), Type: string(m.ProtoReflect().Descriptor().FullName())}})
		at = at.Add(time.Second)
	}
	game := uuid.NewString()
	sess := func(id string, st gamepb.GameState, users ...string) *gamepb.Session {
		return &gamepb.Session{Id: id, GameId: game, State: st, UserIds: users}
	}
	created := func(s *gamepb.Session) {
		add(&eventspb.SessionCreated{Session: s, HostId: "host", Version: 1, CreatedAt: timestamppb.New(at)})
	}
	updated := func(s *gamepb.Session, v int64) {
		add(&eventspb.SessionUpdated{Session: s, Version: v, UpdatedAt: timestamppb.New(at)})
	}
	deleted := func(id string, v int64) {
		add(&eventspb.SessionDeleted{SessionId: id, Version: v, DeletedAt: timestamppb.New(at)})
	}
	a, b, c, d, e := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	upper := strings.ToUpper(uuid.NewString())
	w, s, f := gamepb.GameState_STATE_WAITING, gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_FINISHED

	updated(sess(c, s), 2) // before its create: no row, nothing
	created(sess(a, w))
	created(sess(b, w))
	updated(sess(a, w, "u1"), 2)
	created(sess(a, s, "x")) // a second create: ignored
	updated(sess(a, w, "u1", "u2"), 3)
	updated(sess(a, w, "u1"), 2) // delivered again: older version
	created(sess(c, s))          // created started
	updated(sess(a, s, "u1", "u2"), 4)
	updated(sess(b, s), 2)
	deleted(b, 3)
	deleted(b, 3) // again: the guard skips it, the snapshot is set again
	updated(sess(b, s), 2)
	updated(sess(a, f, "u1", "u2"), 5) // a finishes
	updated(sess(a, f, "u1", "u2"), 5) // again
	deleted(d, 2)                      // unknown session
	updated(sess(c, f), 2)             // c finishes, nobody listed
	deleted(c, 3)                      // and is deleted afterwards
	created(sess(upper, w))            // PostgreSQL reads it; ApplyAll leaves it to Apply
	updated(sess(upper, f, "u3"), 2)
	created(sess(e, w))
	updated(sess(e, s), 2)
	updated(sess(e, f), 4) // a version skipped
	g := uuid.NewString()
	created(sess(g, s))
	updated(sess(g, f, `q"uote`, `back\slash`, "NULL", "", "a,b{c}", " sp "), 2) // player ids that need quoting
	return out
}
