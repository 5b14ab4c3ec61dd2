package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/headers"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/tests/harness"
)

// liveSession is a game of dev's with a session whose players are members.
type liveSession struct {
	dev     actor
	gameID  string
	id      string
	members []actor
}

func newLiveSession(t *testing.T, ctx context.Context, players int) liveSession {
	t.Helper()
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	ls := liveSession{dev: dev, gameID: g.GetId()}
	var ids []string
	for range players {
		a := signInAs(t, ctx, "player")
		ls.members = append(ls.members, a)
		ids = append(ids, a.id)
	}
	s, _ := newSession(t, ctx, dev, g.GetId(), ids...)
	ls.id = s.GetId()
	return ls
}

// liveConn is one member's open stream; events arrive on in.
type liveConn struct {
	st     grpc.BidiStreamingClient[gamepb.GameEvent, gamepb.GameEvent]
	in     chan *gamepb.GameEvent
	ended  chan error
	cancel context.CancelFunc
	who    actor
	// reading is held by pause: the reader stops taking events off the
	// stream, as a slow client would.
	reading sync.Mutex
}

func (c *liveConn) pause()  { c.reading.Lock() }
func (c *liveConn) resume() { c.reading.Unlock() }

type openOpts struct {
	instance bool
	after    string
	noReady  bool
}

// openLive opens a's stream into the session on conn and waits until it is
// subscribed: the first message is a "ready" event, and the member's own
// ready event coming back proves its subscription is live.
func openLive(t *testing.T, ctx context.Context, conn *grpc.ClientConn, a actor, sessionID string, o openOpts) *liveConn {
	t.Helper()
	c, err := tryOpenLive(ctx, conn, a, sessionID, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	if !o.noReady {
		c.until(t, func(ev *gamepb.GameEvent) bool { return ev.GetEventName() == "ready" && ev.GetPlayerId() == a.id })
	}
	return c
}

func tryOpenLive(ctx context.Context, conn *grpc.ClientConn, a actor, sessionID string, o openOpts) (*liveConn, error) {
	sctx, cancel := context.WithCancel(a.ctx(ctx))
	if o.after != "" {
		sctx = metadata.AppendToOutgoingContext(sctx, headers.ResumeAfter, o.after)
	}
	var st grpc.BidiStreamingClient[gamepb.GameEvent, gamepb.GameEvent]
	var err error
	if o.instance {
		st, err = commonpb.NewInstanceServiceClient(conn).StreamEvents(sctx)
	} else {
		st, err = commonpb.NewGameServiceClient(conn).StreamEvents(sctx)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	first := &gamepb.GameEvent{SessionId: proto.String(sessionID)}
	if !o.noReady {
		first.EventName, first.Type = proto.String("ready"), gamepb.GameEvent_TYPE_ACTION
	}
	if err := st.Send(first); err != nil {
		cancel()
		return nil, err
	}
	c := &liveConn{st: st, in: make(chan *gamepb.GameEvent, 4096), ended: make(chan error, 1), cancel: cancel, who: a}
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
	return c, nil
}

func (c *liveConn) close() { c.cancel() }

func (c *liveConn) send(t *testing.T, ev *gamepb.GameEvent) {
	t.Helper()
	if err := c.st.Send(ev); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// action is a plain member event with a client id.
func action(name, id string) *gamepb.GameEvent {
	ev := &gamepb.GameEvent{EventName: proto.String(name), Type: gamepb.GameEvent_TYPE_ACTION}
	if id != "" {
		ev.Id = proto.String(id)
	}
	return ev
}

// next returns the next event, failing after a few seconds.
func (c *liveConn) next(t *testing.T) *gamepb.GameEvent {
	t.Helper()
	select {
	case ev := <-c.in:
		return ev
	case err := <-c.ended:
		t.Fatalf("%s's stream ended: %v", c.who.username, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s got no event within 10s", c.who.username)
	}
	return nil
}

// until reads events up to and including the first that matches; it
// returns those before it.
func (c *liveConn) until(t *testing.T, match func(*gamepb.GameEvent) bool) []*gamepb.GameEvent {
	t.Helper()
	var before []*gamepb.GameEvent
	for {
		ev := c.next(t)
		if match(ev) {
			return before
		}
		before = append(before, ev)
	}
}

// collect reads n events named like prefix (skipping others).
func (c *liveConn) collect(t *testing.T, n int, keep func(*gamepb.GameEvent) bool) []*gamepb.GameEvent {
	t.Helper()
	var out []*gamepb.GameEvent
	for len(out) < n {
		if ev := c.next(t); keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// endedWith waits for the stream to end and returns its status.
func (c *liveConn) endedWith(t *testing.T, within time.Duration) *status.Status {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case <-c.in:
		case err := <-c.ended:
			return status.Convert(err)
		case <-deadline:
			t.Fatalf("%s's stream still open after %v", c.who.username, within)
			return nil
		}
	}
}

func isError(ev *gamepb.GameEvent) bool {
	return ev.GetType() == gamepb.GameEvent_TYPE_SYSTEM && ev.GetEventName() == "error"
}

func errorCode(ev *gamepb.GameEvent) codes.Code {
	return codes.Code(ev.GetAttributes()["code"].GetIntValue())
}

func ids(evs []*gamepb.GameEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.GetId()
	}
	return out
}

// liveOnTopic returns the live events of a session on oof.live.v1, in log
// order.
func liveOnTopic(t *testing.T, ctx context.Context, sessionID string) []*eventspb.LiveEvent {
	t.Helper()
	recs, err := harness.ReadTopic(ctx, env.Kafka, env.Topic(platform.TopicLive))
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventspb.LiveEvent
	for _, r := range recs {
		if string(r.Key) != sessionID {
			continue
		}
		le := &eventspb.LiveEvent{}
		if err := proto.Unmarshal(r.Value, le); err != nil {
			t.Fatal(err)
		}
		out = append(out, le)
	}
	return out
}

// startStreamTarget runs a second instance of the stream target on the
// shared environment (same database, topics and Redis), adjusted by edit.
func startStreamTarget(t *testing.T, ctx context.Context, edit func(*config.Config), dial ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cfg := env.Cfg
	if edit != nil {
		edit(&cfg)
	}
	run, err := env.RunPlatform(ctx, cfg, routing.TargetStream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Stop)
	conn, err := grpc.NewClient(run.GRPCAddr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, dial...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
