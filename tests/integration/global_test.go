package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	globalpb "github.com/oof-gg/platform/api/gen/v1/api/global"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/tests/harness"
)

// globalConn is one client's open GlobalService stream.
type globalConn struct {
	st    grpc.BidiStreamingClient[globalpb.GlobalEvent, globalpb.GlobalEvent]
	in    chan *globalpb.GlobalEvent
	ended chan error
	who   actor
	// reading is held while paused: the client stops reading, as a slow
	// one would.
	reading sync.Mutex
}

// openGlobal opens a's global stream on conn and waits for its
// "connected" event: from then on it receives every global event.
func openGlobal(t *testing.T, ctx context.Context, conn *grpc.ClientConn, a actor) *globalConn {
	t.Helper()
	sctx, cancel := context.WithCancel(a.ctx(ctx))
	t.Cleanup(cancel)
	st, err := commonpb.NewGlobalServiceClient(conn).StreamEvents(sctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &globalConn{st: st, in: make(chan *globalpb.GlobalEvent, 1024), ended: make(chan error, 1), who: a}
	go func() {
		for {
			c.reading.Lock()
			c.reading.Unlock() // a gate: waits while paused
			ev, err := st.Recv()
			if err != nil {
				c.ended <- err
				return
			}
			c.in <- ev
		}
	}()
	c.until(t, func(ev *globalpb.GlobalEvent) bool { return ev.GetEventName() == "connected" })
	return c
}

func (c *globalConn) until(t *testing.T, match func(*globalpb.GlobalEvent) bool) []*globalpb.GlobalEvent {
	t.Helper()
	var before []*globalpb.GlobalEvent
	for {
		select {
		case ev := <-c.in:
			if match(ev) {
				return append(before, ev)
			}
			before = append(before, ev)
		case err := <-c.ended:
			t.Fatalf("%s's global stream ended: %v", c.who.username, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s got no matching global event within 10s", c.who.username)
		}
	}
}

func (c *globalConn) send(t *testing.T, id, name string, typ globalpb.GlobalEvent_EventType) {
	t.Helper()
	ev := &globalpb.GlobalEvent{Id: id, EventName: name, Type: typ, PlayerId: proto.String("spoofed"), Timestamp: 42}
	if err := c.st.Send(ev); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// runIDs makes event ids unique to one run: a repeated id is dropped for
// 10 minutes.
func runIDs() func(string) string {
	run := uniqueName("r")
	return func(id string) string { return run + "-" + id }
}

func withID(id string) func(*globalpb.GlobalEvent) bool {
	return func(ev *globalpb.GlobalEvent) bool { return ev.GetId() == id }
}

// globalOnTopic returns the records of oof.global.v1, in log order.
func globalOnTopic(t *testing.T, ctx context.Context) []*eventspb.GlobalEventSent {
	t.Helper()
	recs, err := harness.ReadTopic(ctx, env.Kafka, env.Topic(platform.TopicGlobal))
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventspb.GlobalEventSent
	for _, r := range recs {
		ge := &eventspb.GlobalEventSent{}
		if err := proto.Unmarshal(r.Value, ge); err != nil {
			t.Fatal(err)
		}
		out = append(out, ge)
	}
	return out
}

// An admin's announcement reaches clients on two stream-target instances,
// with the server's id, timestamp and player_id; a service may publish
// too; a player's event is refused with an "error" event, its stream stays
// open, and nothing of it reaches the log.
func TestGlobalEventsReachEveryClient(t *testing.T) {
	ctx := testCtx(t)
	id := runIDs()
	second := startStreamTarget(t, ctx, nil)
	admin, svc := signInAs(t, ctx, "admin"), signInAs(t, ctx, "service")
	p1, p2 := signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	c1 := openGlobal(t, ctx, env.Conn, p1)
	c2 := openGlobal(t, ctx, second, p2)
	ca := openGlobal(t, ctx, second, admin)
	cs := openGlobal(t, ctx, env.Conn, svc)

	start := time.Now().Add(-time.Second).UnixMilli()
	ca.send(t, id("ann-1"), "maintenance", globalpb.GlobalEvent_ANNOUNCEMENT)
	for _, c := range []*globalConn{c1, c2, ca, cs} {
		got := c.until(t, withID(id("ann-1")))
		ev := got[len(got)-1]
		if ev.GetPlayerId() != admin.id || ev.GetTimestamp() < start || ev.GetEventName() != "maintenance" ||
			ev.GetType() != globalpb.GlobalEvent_ANNOUNCEMENT {
			t.Fatalf("%s got %v; want the admin's announcement with the server's fields", c.who.username, ev)
		}
	}

	cs.send(t, id("svc-1"), "tournament", globalpb.GlobalEvent_EVENT)
	for _, c := range []*globalConn{c1, c2} {
		if got := c.until(t, withID(id("svc-1"))); got[len(got)-1].GetPlayerId() != svc.id {
			t.Fatalf("the service's event came as %v", got[len(got)-1])
		}
	}

	c1.send(t, id("bad-1"), "spam", globalpb.GlobalEvent_ANNOUNCEMENT)
	got := c1.until(t, func(ev *globalpb.GlobalEvent) bool { return ev.GetEventName() == "error" })
	refusal := got[len(got)-1]
	if codes.Code(refusal.GetAttributes()["code"].GetIntValue()) != codes.PermissionDenied ||
		refusal.GetAttributes()["ref"].GetStringValue() != id("bad-1") || refusal.GetType() != globalpb.GlobalEvent_ALERT {
		t.Fatalf("refusal %v", refusal)
	}
	ca.send(t, id("ann-2"), "after", globalpb.GlobalEvent_ALERT)
	if got := c1.until(t, withID(id("ann-2"))); slices.ContainsFunc(got, withID(id("bad-1"))) {
		t.Fatal("the refused event was delivered")
	}
	c2.until(t, withID(id("ann-2")))

	var onLog []string
	for _, ge := range globalOnTopic(t, ctx) {
		if !slices.Contains([]string{id("ann-1"), id("svc-1"), id("bad-1"), id("ann-2")}, ge.GetEvent().GetId()) {
			continue // another test's
		}
		onLog = append(onLog, ge.GetEvent().GetId())
		switch ge.GetEvent().GetId() {
		case id("ann-1"):
			if ge.GetSenderRole() != eventspb.GlobalEventSent_SENDER_ROLE_ADMIN {
				t.Fatalf("ann-1's role %v", ge.GetSenderRole())
			}
		case id("svc-1"):
			if ge.GetSenderRole() != eventspb.GlobalEventSent_SENDER_ROLE_SERVICE {
				t.Fatalf("svc-1's role %v", ge.GetSenderRole())
			}
		}
	}
	if want := []string{id("ann-1"), id("svc-1"), id("ann-2")}; !slices.Equal(onLog, want) {
		t.Fatalf("the log holds %v, want %v", onLog, want)
	}
}

// A player who is not signed in cannot open the stream; a malformed event
// from an admin is refused without ending it.
func TestGlobalRefusals(t *testing.T) {
	ctx := testCtx(t)
	id := runIDs()
	st, err := commonpb.NewGlobalServiceClient(env.Conn).StreamEvents(ctx)
	if err == nil {
		_, err = st.Recv()
	}
	wantCode(t, err, codes.Unauthenticated)

	admin := signInAs(t, ctx, "admin")
	ca := openGlobal(t, ctx, env.Conn, admin)
	ca.send(t, "no name", "", globalpb.GlobalEvent_ANNOUNCEMENT)
	got := ca.until(t, func(ev *globalpb.GlobalEvent) bool { return ev.GetEventName() == "error" })
	if c := codes.Code(got[len(got)-1].GetAttributes()["code"].GetIntValue()); c != codes.InvalidArgument {
		t.Fatalf("a bad event was answered %v", c)
	}
	ca.send(t, id("ok-1"), "fine", globalpb.GlobalEvent_CUSTOM)
	ca.until(t, withID(id("ok-1")))
}

// A client that does not read is dropped with RESOURCE_EXHAUSTED once its
// buffer (4 events on its instance) is full; the others receive
// everything.
func TestGlobalSlowClientIsDropped(t *testing.T) {
	ctx := testCtx(t)
	id := runIDs()
	small := func(c *config.Config) { c.Live.Buffer = 4 }
	conn := startStreamTarget(t, ctx, small, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	admin := signInAs(t, ctx, "admin")
	slow := openGlobal(t, ctx, conn, signInAs(t, ctx, "player"))
	fast := openGlobal(t, ctx, env.Conn, signInAs(t, ctx, "player"))
	ca := openGlobal(t, ctx, env.Conn, admin)

	slow.reading.Lock()
	attrs := map[string]*globalpb.GlobalEvent_EventAttribute{}
	for i := range 14 {
		attrs[fmt.Sprintf("a%d", i)] = &globalpb.GlobalEvent_EventAttribute{
			Value: &globalpb.GlobalEvent_EventAttribute_StringValue{StringValue: strings.Repeat("x", 1000)}}
	}
	const n = 60
	for i := range n {
		ev := &globalpb.GlobalEvent{Id: id(fmt.Sprintf("bulk-%d", i)), EventName: "bulk", Attributes: attrs}
		if err := ca.st.Send(ev); err != nil {
			t.Fatal(err)
		}
	}
	fast.until(t, withID(id(fmt.Sprintf("bulk-%d", n-1))))
	slow.reading.Unlock()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-slow.in:
		case err := <-slow.ended:
			wantCode(t, err, codes.ResourceExhausted)
			return
		case <-deadline:
			t.Fatal("the slow client is still connected")
		}
	}
}
