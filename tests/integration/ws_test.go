package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

type move struct {
	Type string         `json:"type"`
	ID   string         `json:"id,omitempty"`
	Data map[string]any `json:"data,omitempty"`
}

// Members over WebSocket (on two stream-target instances) and over gRPC
// StreamEvents exchange events and all see the log's order; the WebSocket
// frames carry the data as sent and the sender the token names.
func TestWSMembersSeeOneOrder(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 3)
	second := startStreamAddr(t, ctx, nil)
	a := dialWS(t, ctx, ls.members[0], wsOpts{session: ls.id})
	b := openLive(t, ctx, env.Conn, ls.members[1], ls.id, openOpts{})
	c := dialWS(t, ctx, ls.members[2], wsOpts{addr: second, session: ls.id})

	const n = 6
	go func() {
		for j := range n {
			a.send(t, ctx, move{Type: "move", ID: fmt.Sprintf("a-%d", j), Data: map[string]any{"x": j, "who": "a"}})
		}
	}()
	go func() {
		for j := range n {
			ev := action("move", fmt.Sprintf("b-%d", j))
			ev.Data = stringPtr(fmt.Sprintf(`{"x":%d,"who":"b"}`, j))
			_ = b.st.Send(ev)
		}
	}()
	for j := range n {
		c.send(t, ctx, move{Type: "move", ID: fmt.Sprintf("c-%d", j), Data: map[string]any{"x": j, "who": "c"}})
	}
	isMove := func(f wsFrame) bool { return f.Type == "move" }
	fa, fc := a.collect(t, 3*n, isMove), c.collect(t, 3*n, isMove)
	gb := ids(b.collect(t, 3*n, named("move")))
	if !slices.Equal(frameIDs(fa), frameIDs(fc)) || !slices.Equal(frameIDs(fa), gb) {
		t.Fatalf("members saw different orders:\nws  %v\nws2 %v\ngrpc %v", frameIDs(fa), frameIDs(fc), gb)
	}
	want := map[string]string{"a": ls.members[0].id, "b": ls.members[1].id, "c": ls.members[2].id}
	for _, f := range fa {
		var d struct {
			X   int    `json:"x"`
			Who string `json:"who"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatalf("data %s: %v", f.Data, err)
		}
		if f.PlayerID != want[d.Who] || !strings.HasPrefix(f.ID, d.Who+"-") {
			t.Fatalf("frame %+v: sender %s, want %s", f, f.PlayerID, want[d.Who])
		}
	}
	var onLog []string
	for _, le := range liveOnTopic(t, ctx, ls.id) {
		if le.GetEvent().GetEventName() == "move" {
			onLog = append(onLog, le.GetEvent().GetId())
			if le.GetEvent().GetType() != gamepb.GameEvent_TYPE_ACTION {
				t.Fatalf("event %s is %v, want TYPE_ACTION", le.GetEvent().GetId(), le.GetEvent().GetType())
			}
		}
	}
	if !slices.Equal(onLog, frameIDs(fa)) {
		t.Fatalf("the log's order %v differs from the members' %v", onLog, frameIDs(fa))
	}
}

func stringPtr(s string) *string { return &s }

// A socket opened without a session subscribes with a frame, as the SDK
// does.
func TestWSSubscribeFrame(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	g := openLive(t, ctx, env.Conn, ls.members[1], ls.id, openOpts{})
	w := dialWS(t, ctx, ls.members[0], wsOpts{})
	w.send(t, ctx, move{Type: "early"})
	if f := w.next(t); f.Type != "error" || !strings.Contains(f.Error, "subscribe first") {
		t.Fatalf("an event before subscribing answered %+v", f)
	}
	w.sendRaw(t, ctx, `{"type":"subscribe","instance_id":"`+ls.id+`"}`)
	if f := w.next(t); f.Type != "subscribed" || f.InstanceID != ls.id {
		t.Fatalf("subscribe answered %+v", f)
	}
	w.sendRaw(t, ctx, `{"type":"REGISTER_PLAYER","data":{"playerName":"ada"}}`)
	ev := g.until(t, func(ev *gamepb.GameEvent) bool { return ev.GetEventName() == "REGISTER_PLAYER" })
	_ = ev
	if f := w.next(t); f.Type != "REGISTER_PLAYER" || string(f.Data) != `{"playerName":"ada"}` || f.PlayerID != ls.members[0].id {
		t.Fatalf("own event came back as %+v", f)
	}
	// Subscribing to a session one may not join is an error frame; the
	// socket stays on its session.
	other := newLiveSession(t, ctx, 1)
	w.sendRaw(t, ctx, `{"type":"subscribe","instance_id":"`+other.id+`"}`)
	if f := w.next(t); f.Type != "error" || f.Code != "PermissionDenied" {
		t.Fatalf("subscribing to another's session answered %+v", f)
	}
}

// Refusals happen before the upgrade, as HTTP statuses.
func TestWSRefusedBeforeUpgrade(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 1)
	stranger := signInAs(t, ctx, "player")
	member := ls.members[0]
	for _, tc := range []struct {
		name string
		who  actor
		o    wsOpts
		want int
	}{
		{"bad token", member, wsOpts{session: ls.id, token: "not-a-jwt"}, http.StatusUnauthorized},
		{"tampered token", member, wsOpts{session: ls.id, token: member.token + "x"}, http.StatusUnauthorized},
		{"not a member", stranger, wsOpts{session: ls.id}, http.StatusForbidden},
		{"no such session", member, wsOpts{session: "0190b3c5-0000-7000-8000-000000000000"}, http.StatusNotFound},
		{"not a session id", member, wsOpts{session: "nope"}, http.StatusBadRequest},
		{"refused origin", member, wsOpts{session: ls.id, origin: "https://evil.example"}, http.StatusForbidden},
		{"resume point not in window", member, wsOpts{session: ls.id, after: "never-sent"}, http.StatusGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, code, err := tryDialWS(ctx, tc.who, tc.o)
			if err == nil {
				_ = w.c.CloseNow()
			}
			if code != tc.want {
				t.Fatalf("HTTP %d (%v), want %d", code, err, tc.want)
			}
		})
	}
	// An allowed page origin (loopback by default) is accepted.
	dialWS(t, ctx, member, wsOpts{session: ls.id, origin: "http://localhost:5173"})
	// A plain GET (no upgrade) is told to upgrade.
	resp, err := http.Get("http://" + env.Addr + "/ws/" + ls.id)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("a plain GET answered %d", resp.StatusCode)
	}
}

// Malformed, unknown-shaped and oversized frames get error frames and
// reach nothing; repeated abuse closes the socket with 1008.
func TestWSMalformedFrames(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 1)
	w := dialWS(t, ctx, ls.members[0], wsOpts{session: ls.id})
	for _, tc := range []struct{ name, frame, want string }{
		{"not JSON", `{"type":`, "not a frame"},
		{"not an object", `[1,2]`, "not a frame"},
		{"no type", `{"data":{}}`, `needs a "type"`},
		{"type not a string", `{"type":7}`, "must be a JSON string"},
		{"unknown field", `{"type":"move","player_id":"me"}`, "unknown field"},
		{"two objects", `{"type":"move"}{"type":"move"}`, "one JSON object"},
		{"server-only type", `{"type":"error","error":"x"}`, "server only"},
		{"bad event name", `{"type":"` + strings.Repeat("n", 65) + `"}`, "event_name"},
		{"oversized", `{"type":"big","data":"` + strings.Repeat("x", env.Cfg.Live.MaxEventBytes) + `"}`, "too large"},
	} {
		w.sendRaw(t, ctx, tc.frame)
		if f := w.next(t); f.Type != "error" || !strings.Contains(f.Error, tc.want) {
			t.Fatalf("%s: answered %+v, want an error frame with %q", tc.name, f, tc.want)
		}
	}
	w.send(t, ctx, move{Type: "fine", ID: "fine-1"})
	if f := w.next(t); f.Type != "fine" {
		t.Fatalf("a good frame after the bad ones came back as %+v", f)
	}
	for _, le := range liveOnTopic(t, ctx, ls.id) {
		// The socket's own presence (a system event) is on the log too.
		if ev := le.GetEvent(); ev.GetEventName() != "fine" && ev.GetType() != gamepb.GameEvent_TYPE_SYSTEM {
			t.Fatalf("a refused frame reached the log: %v", ev)
		}
	}
	for range 30 {
		if err := w.c.Write(ctx, websocket.MessageText, []byte("garbage")); err != nil {
			break
		}
	}
	if code, reason := w.closedWith(t, 10*time.Second); code != websocket.StatusPolicyViolation {
		t.Fatalf("abuse closed with %d %q, want 1008", code, reason)
	}
}

// Sending faster than the live rate limit gets error frames.
func TestWSRateLimit(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 1)
	w := dialWS(t, ctx, ls.members[0], wsOpts{session: ls.id})
	n := env.Cfg.Live.Burst + 10
	for j := range n {
		w.send(t, ctx, move{Type: "spam", ID: fmt.Sprintf("s-%d", j)})
	}
	limited := 0
	for range n {
		if f := w.next(t); f.Type == "error" {
			if f.Code != "ResourceExhausted" || f.Ref == "" {
				t.Fatalf("refusal %+v", f)
			}
			limited++
		}
	}
	if limited == 0 {
		t.Fatalf("%d events at once were all accepted (burst %d)", n, env.Cfg.Live.Burst)
	}
}

// A member that reconnects with ?after=<last id seen> gets what it missed,
// no gap and no duplicate, then live events.
func TestWSResume(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	conn, err := grpc.NewClient(env.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	other := openLive(t, ctx, conn, ls.members[1], ls.id, openOpts{})
	w := dialWS(t, ctx, ls.members[0], wsOpts{session: ls.id})
	send := func(from, to int) {
		for j := from; j < to; j++ {
			other.send(t, action("tick", fmt.Sprintf("t-%d", j)))
		}
	}
	send(0, 4)
	seen := w.collect(t, 4, func(f wsFrame) bool { return f.Type == "tick" })
	_ = w.c.Close(websocket.StatusNormalClosure, "")
	send(4, 8)
	other.collect(t, 8, named("tick"))
	w2 := dialWS(t, ctx, ls.members[0], wsOpts{session: ls.id, after: seen[1].ID})
	send(8, 10)
	got := frameIDs(w2.collect(t, 8, func(f wsFrame) bool { return f.Type == "tick" }))
	want := []string{"t-2", "t-3", "t-4", "t-5", "t-6", "t-7", "t-8", "t-9"}
	if !slices.Equal(got, want) {
		t.Fatalf("resumed with %v, want %v", got, want)
	}
	// Nothing else follows but presence changes (the reconnect itself).
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case f := <-w2.in:
			if !strings.HasPrefix(f.Type, "presence.") {
				t.Fatalf("an extra frame after the resume: %+v", f)
			}
			continue
		case <-deadline:
		}
		break
	}
}
