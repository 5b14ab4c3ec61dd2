package integration

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/query/presence"
)

// openPresent opens a's stream like openLive and returns the events that
// came before its own ready event (the snapshot, its joined).
func openPresent(t *testing.T, ctx context.Context, conn *grpc.ClientConn, a actor, sessionID string) (*liveConn, []*gamepb.GameEvent) {
	t.Helper()
	c, err := tryOpenLive(ctx, conn, a, sessionID, openOpts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c, c.until(t, func(ev *gamepb.GameEvent) bool { return ev.GetEventName() == "ready" && ev.GetPlayerId() == a.id })
}

func presenceOf(name, user string) func(*gamepb.GameEvent) bool {
	return func(ev *gamepb.GameEvent) bool {
		return ev.GetType() == gamepb.GameEvent_TYPE_SYSTEM && ev.GetEventName() == name &&
			ev.GetAttributes()["player_id"].GetStringValue() == user && ev.GetPlayerId() == user
	}
}

// snapshotOf returns the player ids of the presence.snapshot in evs.
func snapshotOf(t *testing.T, evs []*gamepb.GameEvent) []string {
	t.Helper()
	for _, ev := range evs {
		if ev.GetType() == gamepb.GameEvent_TYPE_SYSTEM && ev.GetEventName() == presence.Snapshot {
			var d struct {
				PlayerIDs []string `json:"player_ids"`
			}
			if err := json.Unmarshal([]byte(ev.GetData()), &d); err != nil {
				t.Fatal(err)
			}
			if int(ev.GetAttributes()["count"].GetIntValue()) != len(d.PlayerIDs) {
				t.Fatalf("snapshot count disagrees with its list: %v", ev)
			}
			return d.PlayerIDs
		}
	}
	t.Fatalf("no presence.snapshot among %v", evs)
	return nil
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

// A member connecting gets a snapshot of who is connected, the others see
// presence.joined for it (across instances), and presence.left when it
// closes its stream; both changes are live events on oof.live.v1. A second
// conn of the same player neither joins nor leaves again.
func TestPresenceJoinedLeftAndSnapshot(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	a, b := ls.members[0], ls.members[1]
	second := startStreamTarget(t, ctx, nil)

	bc, first := openPresent(t, ctx, env.Conn, b, ls.id)
	if got := snapshotOf(t, first); !slices.Equal(got, []string{b.id}) {
		t.Fatalf("B's snapshot %v, want only B", got)
	}
	ac, firstA := openPresent(t, ctx, second, a, ls.id)
	if got := snapshotOf(t, firstA); !slices.Equal(got, sorted(a.id, b.id)) {
		t.Fatalf("A's snapshot %v, want A and B", got)
	}
	bc.until(t, presenceOf(presence.Joined, a.id))

	// A second tab of A: no joined, and closing it leaves A present.
	tab, _ := openPresent(t, ctx, env.Conn, a, ls.id)
	if err := tab.st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	tab.endedWith(t, 5*time.Second)

	if err := ac.st.CloseSend(); err != nil { // a clean close
		t.Fatal(err)
	}
	ac.endedWith(t, 5*time.Second)
	before := bc.until(t, presenceOf(presence.Left, a.id))
	if slices.ContainsFunc(before, presenceOf(presence.Joined, a.id)) {
		t.Fatal("A's second conn was announced as a join")
	}

	var names []string
	for _, le := range liveOnTopic(t, ctx, ls.id) {
		if ev := le.GetEvent(); ev.GetPlayerId() == a.id && ev.GetType() == gamepb.GameEvent_TYPE_SYSTEM {
			names = append(names, ev.GetEventName())
		}
	}
	if want := []string{presence.Joined, presence.Left}; !slices.Equal(names, want) {
		t.Fatalf("A's presence on the log: %v, want %v", names, want)
	}
	_, again := openPresent(t, ctx, env.Conn, ls.dev, ls.id)
	if got := snapshotOf(t, again); !slices.Equal(got, sorted(b.id, ls.dev.id)) {
		t.Fatalf("after A left the snapshot is %v, want B and the developer", got)
	}
}

// A conn that vanishes without a clean close (its context cancelled, as a
// crashed client or instance) stays present until its heartbeat TTL runs
// out, then the others see presence.left.
func TestPresenceKilledConnExpires(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	a, b := ls.members[0], ls.members[1]
	const ttl = time.Second
	short := startStreamTarget(t, ctx, func(c *config.Config) { c.Live.PresenceTTL = ttl })

	bc, _ := openPresent(t, ctx, env.Conn, b, ls.id)
	ac, _ := openPresent(t, ctx, short, a, ls.id)
	bc.until(t, presenceOf(presence.Joined, a.id))

	killed := time.Now()
	ac.close()
	bc.until(t, presenceOf(presence.Left, a.id))
	// The last heartbeat was at most a third of the TTL before the kill.
	if waited := time.Since(killed); waited < ttl/2 {
		t.Fatalf("presence.left came %v after the kill: before the TTL (%v) ran out", waited, ttl)
	}
	_, snap := openPresent(t, ctx, env.Conn, ls.dev, ls.id)
	if got := snapshotOf(t, snap); slices.Contains(got, a.id) {
		t.Fatalf("the killed conn is still present: %v", got)
	}
}

// WebSocket members count for presence like gRPC ones: a socket gets the
// snapshot first, the others see presence.joined for it, and a close frame
// makes it leave at once.
func TestPresenceOverWebSocket(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	a, b := ls.members[0], ls.members[1]
	bc, _ := openPresent(t, ctx, env.Conn, b, ls.id)

	w := dialWS(t, ctx, a, wsOpts{session: ls.id})
	f := w.nextAny(t)
	if f.Type != presence.Snapshot {
		t.Fatalf("first frame after subscribed: %+v, want %s", f, presence.Snapshot)
	}
	var snap struct {
		PlayerIDs []string `json:"player_ids"`
	}
	if err := json.Unmarshal(f.Data, &snap); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snap.PlayerIDs, sorted(a.id, b.id)) {
		t.Fatalf("socket's snapshot %v, want A and B", snap.PlayerIDs)
	}
	bc.until(t, presenceOf(presence.Joined, a.id))

	if err := w.c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	bc.until(t, presenceOf(presence.Left, a.id))
	if ttl := config.DefaultLive().PresenceTTL; time.Since(start) >= ttl {
		t.Fatalf("a clean close left only after %v (the heartbeat TTL is %v)", time.Since(start), ttl)
	}
}
