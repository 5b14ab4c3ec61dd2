package presence

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/redisx/redistest"
	querylive "github.com/oof-gg/platform/query/live"
)

// recorder keeps what the trackers announced, as "<name> <user> <seq>".
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) publish(_ context.Context, ev *gamepb.GameEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%s %s %d", ev.GetEventName(), ev.GetPlayerId(), ev.GetAttributes()["seq"].GetIntValue()))
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func conn(user, id string) querylive.ConnInfo {
	return querylive.ConnInfo{ID: id, Caller: auth.Principal{UserID: user, Role: "player"}, SessionID: "s1"}
}

// Two instances share a session's presence: a player with two conns joins
// once and leaves with its last; a clean close leaves at once, an unclean
// one only when the TTL ran out, announced once however many instances
// sweep; instances' conns are not presence.
func TestTwoInstancesOneSession(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	prefix := fmt.Sprintf("ptest%d:", time.Now().UnixNano())
	const ttl = 300 * time.Millisecond
	rec := &recorder{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	one := New(rdb, prefix, ttl, rec.publish, log)
	two := New(rdb, prefix, ttl, rec.publish, log)

	snap, err := one.Opened(ctx, conn("alice", "a1"))
	if err != nil || len(snap) != 1 || snap[0].GetData() != `{"player_ids":["alice"]}` {
		t.Fatalf("first snapshot %v %v", snap, err)
	}
	if _, err := two.Opened(ctx, conn("alice", "a2")); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Opened(ctx, conn("bob", "b1")); err != nil {
		t.Fatal(err)
	}
	inst := conn("svc", "i1")
	inst.Instance = true
	if snap, _ := two.Opened(ctx, inst); snap != nil {
		t.Fatalf("an instance conn got %v", snap)
	}
	if got, want := rec.take(), []string{"presence.joined alice 1", "presence.joined bob 2"}; !slices.Equal(got, want) {
		t.Fatalf("announced %v, want %v", got, want)
	}

	one.Closed(conn("alice", "a1"), true) // alice still has a2
	two.Closed(conn("bob", "b1"), true)
	if got, want := rec.take(), []string{"presence.left bob 3"}; !slices.Equal(got, want) {
		t.Fatalf("announced %v, want %v", got, want)
	}

	two.Closed(conn("alice", "a2"), false) // killed: lingers
	if err := one.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if users, _, _ := one.Members(ctx, "s1"); !slices.Equal(users, []string{"alice"}) {
		t.Fatalf("right after the kill present: %v", users)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	var wg sync.WaitGroup
	for _, tr := range []*Tracker{one, two, one, two} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = tr.Sweep(ctx) }()
	}
	wg.Wait()
	if got, want := rec.take(), []string{"presence.left alice 4"}; !slices.Equal(got, want) {
		t.Fatalf("announced %v, want %v", got, want)
	}
	if users, seq, _ := one.Members(ctx, "s1"); len(users) != 0 || seq != 4 {
		t.Fatalf("after expiry present %v at seq %d", users, seq)
	}
	if online, _ := one.Online(ctx, "alice", "bob"); online["alice"] || online["bob"] {
		t.Fatalf("online after everything ended: %v", online)
	}
}

// An open conn's heartbeat keeps it present past the TTL.
func TestHeartbeatKeepsAConn(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	prefix := fmt.Sprintf("ptest%d:", time.Now().UnixNano())
	const ttl = 300 * time.Millisecond
	rec := &recorder{}
	tr := New(rdb, prefix, ttl, rec.publish, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := tr.Opened(ctx, conn("carol", "c1")); err != nil {
		t.Fatal(err)
	}
	defer tr.Closed(conn("carol", "c1"), true)
	for range 4 {
		time.Sleep(ttl / 2)
		if err := tr.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if users, _, _ := tr.Members(ctx, "s1"); !slices.Equal(users, []string{"carol"}) {
		t.Fatalf("an open conn expired: %v", users)
	}
	if online, _ := tr.Online(ctx, "carol"); !online["carol"] {
		t.Fatal("carol is not online")
	}
	if got := rec.take(); !slices.Equal(got, []string{"presence.joined carol 1"}) {
		t.Fatalf("announced %v", got)
	}
}

// A global stream keeps its user online while open; after stop the mark
// expires with the TTL.
func TestKeepOnline(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	prefix := fmt.Sprintf("ptest%d:", time.Now().UnixNano())
	const ttl = 300 * time.Millisecond
	tr := New(rdb, prefix, ttl, (&recorder{}).publish, slog.New(slog.NewTextHandler(io.Discard, nil)))
	stop := tr.KeepOnline(ctx, "dave")
	time.Sleep(2 * ttl)
	if online, _ := tr.Online(ctx, "dave"); !online["dave"] {
		t.Fatal("dave is not online while his stream is open")
	}
	stop()
	time.Sleep(ttl + 50*time.Millisecond)
	if online, _ := tr.Online(ctx, "dave"); online["dave"] {
		t.Fatal("dave is online after his stream ended and the TTL ran out")
	}
}
