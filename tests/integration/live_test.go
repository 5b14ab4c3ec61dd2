package integration

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/routing"
	projlive "github.com/oof-gg/platform/projector/live"
)

func named(prefix string) func(*gamepb.GameEvent) bool {
	return func(ev *gamepb.GameEvent) bool { return strings.HasPrefix(ev.GetEventName(), prefix) }
}

// exchange has every conn send n events at once and returns, per conn, the
// ids of the 2n... events named tag it received.
func exchange(t *testing.T, conns []*liveConn, n int, tag string) [][]string {
	t.Helper()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				if err := c.st.Send(action(tag, fmt.Sprintf("%s-%d-%d", tag, i, j))); err != nil {
					t.Errorf("send: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	var out [][]string
	for _, c := range conns {
		out = append(out, ids(c.collect(t, n*len(conns), named(tag))))
	}
	return out
}

// Members exchange events and all see one order — the order of the log —
// whether they are connected to one stream-target instance or two; the
// server fills player_id (whatever the client claims), timestamp and
// game_id.
func TestLiveMembersSeeOneOrder(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 3)
	second := startStreamTarget(t, ctx, nil)
	a := openLive(t, ctx, env.Conn, ls.members[0], ls.id, openOpts{})
	b := openLive(t, ctx, env.Conn, ls.members[1], ls.id, openOpts{})
	c := openLive(t, ctx, second, ls.members[2], ls.id, openOpts{})

	got := exchange(t, []*liveConn{a, b, c}, 8, "move")
	for i := 1; i < len(got); i++ {
		if !slices.Equal(got[0], got[i]) {
			t.Fatalf("members saw different orders:\n%v\n%v", got[0], got[i])
		}
	}
	var onLog []string
	for _, le := range liveOnTopic(t, ctx, ls.id) {
		if strings.HasPrefix(le.GetEvent().GetEventName(), "move") {
			onLog = append(onLog, le.GetEvent().GetId())
		}
	}
	if !slices.Equal(onLog, got[0]) {
		t.Fatalf("the log's order %v differs from the members' %v", onLog, got[0])
	}

	spoof := action("spoof", "")
	spoof.PlayerId, spoof.Timestamp, spoof.SessionId = proto.String(ls.members[2].id), 42, proto.String(ls.id)
	a.send(t, spoof)
	ev := b.collect(t, 1, named("spoof"))[0]
	if ev.GetPlayerId() != ls.members[0].id || ev.GetTimestamp() < time.Now().Add(-time.Minute).UnixMilli() ||
		ev.GetGameId() != ls.gameID || ev.GetSessionId() != ls.id || ev.GetId() == "" {
		t.Fatalf("server fields not filled: %v (sender %s)", ev, ls.members[0].id)
	}
}

// Refusals: a non-member cannot open the stream; an event into a session
// the sender is not in, a TYPE_SYSTEM from a player and a flood past the
// rate limit are answered with "error" events while the stream stays
// open, and none of them reaches the log. A repeated id is delivered once.
func TestLiveRefusalsKeepTheStreamOpen(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	other := newLiveSession(t, ctx, 1)
	outsider := signInAs(t, ctx, "player")

	st, err := tryOpenLive(ctx, env.Conn, outsider, ls.id, openOpts{})
	if err == nil {
		err = st.endedWith(t, 5*time.Second).Err()
		st.close()
	}
	wantCode(t, err, codes.PermissionDenied)

	a := openLive(t, ctx, env.Conn, ls.members[0], ls.id, openOpts{})
	b := openLive(t, ctx, env.Conn, ls.members[1], ls.id, openOpts{})

	elsewhere := action("intrude", "intrude-1")
	elsewhere.SessionId = proto.String(other.id)
	a.send(t, elsewhere)
	sys := action("fake-system", "sys-1")
	sys.Type = gamepb.GameEvent_TYPE_SYSTEM
	a.send(t, sys)
	for _, want := range []string{"intrude-1", "sys-1"} {
		ev := a.next(t)
		for !isError(ev) {
			ev = a.next(t)
		}
		if !isError(ev) || errorCode(ev) != codes.PermissionDenied || ev.GetAttributes()["ref"].GetStringValue() != want {
			t.Fatalf("want a PERMISSION_DENIED error event for %s, got %v", want, ev)
		}
	}

	a.send(t, action("dup", "dup-1"))
	a.send(t, action("dup", "dup-1"))
	a.send(t, action("after-dup", "after-dup-1"))
	seen := b.until(t, named("after-dup"))
	if n := len(slices.DeleteFunc(ids(seen), func(id string) bool { return id != "dup-1" })); n != 1 {
		t.Fatalf("dup-1 delivered %d times", n)
	}

	// The default bucket holds 40 events: a burst of 60 is partly refused.
	for i := range 60 {
		a.send(t, action("flood", fmt.Sprintf("flood-%d", i)))
	}
	limited := 0
	for got := 0; got < 60; {
		ev := a.next(t)
		switch {
		case isError(ev):
			if errorCode(ev) != codes.ResourceExhausted {
				t.Fatalf("unexpected refusal %v", ev)
			}
			limited++
			got++
		case named("flood")(ev):
			got++
		}
	}
	if limited == 0 {
		t.Fatal("60 events at once were all accepted")
	}
	time.Sleep(200 * time.Millisecond) // the bucket refills
	a.send(t, action("still-open", "still-open-1"))
	b.until(t, named("still-open"))

	for _, le := range liveOnTopic(t, ctx, other.id) {
		t.Fatalf("an outsider's event reached the log: %v", le)
	}
	for _, le := range liveOnTopic(t, ctx, ls.id) {
		if id := le.GetEvent().GetId(); id == "sys-1" {
			t.Fatalf("a refused event reached the log: %v", le)
		}
	}
}

// A member that reconnects with the last id it saw gets what it missed, in
// order, without gap or duplicate, then live events; an id that left the
// window fails OUT_OF_RANGE.
func TestLiveResume(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	a := openLive(t, ctx, env.Conn, ls.members[0], ls.id, openOpts{})
	b := openLive(t, ctx, env.Conn, ls.members[1], ls.id, openOpts{})
	for i := range 3 {
		b.send(t, action("before", fmt.Sprintf("before-%d", i)))
	}
	last := a.collect(t, 3, named("before"))[2].GetId()
	a.close()
	for i := range 4 {
		b.send(t, action("missed", fmt.Sprintf("missed-%d", i)))
	}
	b.collect(t, 4, named("missed"))

	back := openLive(t, ctx, env.Conn, ls.members[0], ls.id, openOpts{after: last, noReady: true})
	got := ids(back.collect(t, 4, func(*gamepb.GameEvent) bool { return true }))
	if want := []string{"missed-0", "missed-1", "missed-2", "missed-3"}; !slices.Equal(got, want) {
		t.Fatalf("resumed with %v, want %v", got, want)
	}
	b.send(t, action("live", "live-0"))
	if ev := back.next(t); ev.GetId() != "live-0" {
		t.Fatalf("after the missed events came %v, want live-0", ev)
	}

	for _, after := range []string{"never-sent", "before-0"} {
		if after == "before-0" {
			// The window keeps the newest events only: trim it to two.
			if err := env.Redis.XTrimMaxLen(ctx, projlive.StreamKey(env.Cfg.RedisKeyPrefix, ls.id), 2).Err(); err != nil {
				t.Fatal(err)
			}
		}
		c, err := tryOpenLive(ctx, env.Conn, ls.members[0], ls.id, openOpts{after: after, noReady: true})
		if err == nil {
			err = c.endedWith(t, 5*time.Second).Err()
			c.close()
		}
		wantCode(t, err, codes.OutOfRange)
	}
}

// A member that does not read is dropped with RESOURCE_EXHAUSTED once its
// buffer is full; the others keep receiving everything.
func TestLiveSlowMemberIsDropped(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 3)
	small := func(c *config.Config) { c.Live.Buffer = 4; c.Live.Rate, c.Live.Burst = 10000, 10000 }
	// Small HTTP/2 windows on the slow client's own connection: its unread
	// events back up into the server quickly. The others use a connection
	// of their own, so the slow one's full window cannot block them.
	conn := startStreamTarget(t, ctx, small)
	slowConn, err := grpc.NewClient(conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = slowConn.Close() })
	slow := openLive(t, ctx, slowConn, ls.members[0], ls.id, openOpts{})
	fast := openLive(t, ctx, conn, ls.members[1], ls.id, openOpts{})
	sender := openLive(t, ctx, conn, ls.members[2], ls.id, openOpts{})

	slow.pause() // the slow member stops reading
	blob := `"` + strings.Repeat("x", 8000) + `"`
	const n = 60
	for i := range n {
		ev := action("bulk", fmt.Sprintf("bulk-%d", i))
		ev.Data = proto.String(blob)
		sender.send(t, ev)
	}
	if got := fast.collect(t, n, named("bulk")); len(got) != n {
		t.Fatalf("fast member got %d events", len(got))
	}
	// Reading again, the slow member gets what was in flight, then how its
	// stream ended.
	slow.resume()
	if st := slow.endedWith(t, 10*time.Second); st.Code() != codes.ResourceExhausted {
		t.Fatalf("the slow member ended with %v, want RESOURCE_EXHAUSTED", st)
	}
}

// Revoking the member's login ends its open stream.
func TestLiveStreamEndsOnRevocation(t *testing.T) {
	ctx := testCtx(t)
	conn := startStreamTarget(t, ctx, func(c *config.Config) { c.StreamAuthRecheck = 100 * time.Millisecond })
	// Refreshes go to a command target whose grace for a retried refresh
	// is short, so reusing the spent token is refused (and revokes) soon.
	cmdCfg := env.Cfg
	cmdCfg.RefreshGrace = 50 * time.Millisecond
	cmd, err := env.RunPlatform(ctx, cmdCfg, routing.TargetCommand)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cmd.Stop)
	cmdConn, err := grpc.NewClient(cmd.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmdConn.Close() })
	authc := authpb.NewAuthServiceClient(cmdConn)
	acct := register(t, ctx, "live_rev")
	m := actor{account: acct, id: acct.resp.GetUserId(), token: acct.resp.GetAccessToken()}
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	s, _ := newSession(t, ctx, dev, g.GetId(), m.id)
	c := openLive(t, ctx, conn, m, s.GetId(), openOpts{})
	// Reusing a spent refresh token revokes its login (after any grace
	// for a retried refresh: keep presenting it until refused).
	spent := acct.resp.GetRefreshToken()
	if _, err := authc.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: spent}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past the grace
	refused := false
	for i := 0; i < 3 && !refused; i++ {
		_, err := authc.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: spent})
		refused = err != nil
	}
	if !refused {
		t.Fatal("a spent refresh token kept being accepted")
	}
	if st := c.endedWith(t, 5*time.Second); st.Code() != codes.Unauthenticated {
		t.Fatalf("stream ended with %v, want UNAUTHENTICATED", st)
	}
}

// A game instance (here the game's owner) streams on InstanceService and
// may send TYPE_COMPLETION, which members receive and which finishes the
// session through the session command; players cannot open that stream.
func TestLiveInstanceCompletesTheSession(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 1)
	if _, err := games().UpdateSession(ls.dev.ctx(ctx), &gamepb.SessionUpdate{Id: ls.id, State: gamepb.GameState_STATE_STARTED}); err != nil {
		t.Fatal(err)
	}
	st, err := tryOpenLive(ctx, env.Conn, ls.members[0], ls.id, openOpts{instance: true})
	if err == nil {
		err = st.endedWith(t, 5*time.Second).Err()
		st.close()
	}
	wantCode(t, err, codes.PermissionDenied)

	member := openLive(t, ctx, env.Conn, ls.members[0], ls.id, openOpts{})
	inst := openLive(t, ctx, env.Conn, ls.dev, ls.id, openOpts{instance: true})
	done := action("match-over", "done-1")
	done.Type = gamepb.GameEvent_TYPE_COMPLETION
	inst.send(t, done)
	if ev := member.collect(t, 1, named("match-over"))[0]; ev.GetType() != gamepb.GameEvent_TYPE_COMPLETION || ev.GetPlayerId() != ls.dev.id {
		t.Fatalf("member got %v", ev)
	}
	waitFor(t, func() bool { return getSession(t, ctx, ls.dev, ls.id).GetState() == gamepb.GameState_STATE_FINISHED })
}
