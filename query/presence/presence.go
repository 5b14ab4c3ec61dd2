// Package presence keeps who is connected to which session (and who is
// online) in Redis, from the live streams' conn lifecycle
// (query/live.ConnHook; docs/realtime.md, Presence). A conn is present
// while its stream heartbeats it; a clean close removes it at once, any
// other end lets it expire after the TTL, so a crashed instance's conns
// vanish and a client that reconnects within the TTL does not flap. The
// changes reach the session's members as TYPE_SYSTEM events
// presence.joined / presence.left through the live pipeline (so they are
// ordered with the session's other events and on oof.live.v1), and a
// fresh conn gets a presence.snapshot first.
package presence

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	querylive "github.com/oof-gg/platform/query/live"
)

// Event names.
const (
	Joined   = "presence.joined"
	Left     = "presence.left"
	Snapshot = "presence.snapshot"
)

// PublishFunc appends a server-originated event into its session's stream
// (command/live.Publisher.PublishSystem).
type PublishFunc func(ctx context.Context, ev *gamepb.GameEvent) error

// Tracker implements query/live.ConnHook.
type Tracker struct {
	rdb     *redis.Client
	prefix  string
	ttl     time.Duration
	publish PublishFunc
	log     *slog.Logger

	mu    sync.Mutex
	beats map[string]beating // conn id → its heartbeat
}

// beating is a conn's heartbeat goroutine: cancel stops it, done closes
// when it has returned.
type beating struct {
	cancel context.CancelFunc
	done   chan struct{}
}

var _ querylive.ConnHook = (*Tracker)(nil)

// New returns a tracker; ttl is how long a conn outlives its last
// heartbeat.
func New(rdb *redis.Client, prefix string, ttl time.Duration, publish PublishFunc, log *slog.Logger) *Tracker {
	return &Tracker{rdb: rdb, prefix: prefix, ttl: ttl, publish: publish, log: log, beats: map[string]beating{}}
}

func (t *Tracker) key(parts ...string) string {
	return t.prefix + "presence:" + strings.Join(parts, ":")
}

func (t *Tracker) ttlMS() int64 { return t.ttl.Milliseconds() }

func member(c querylive.ConnInfo) string { return c.Caller.UserID + "|" + c.ID }

// tracked: game instances' streams are not members' presence.
func tracked(c querylive.ConnInfo) bool { return !c.Instance && c.Caller.UserID != "" }

// Opened implements querylive.ConnHook: the conn is present from now on,
// heartbeated until Closed; joined is announced when it is the user's
// first conn; a fresh (not resumed) conn gets the snapshot.
func (t *Tracker) Opened(ctx context.Context, c querylive.ConnInfo) ([]*gamepb.GameEvent, error) {
	if !tracked(c) {
		return nil, nil
	}
	if err := t.beat(ctx, c); err != nil {
		return nil, err
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := beating{cancel: cancel, done: make(chan struct{})}
	t.mu.Lock()
	t.beats[c.ID] = b
	t.mu.Unlock()
	go func() { defer close(b.done); t.heartbeat(hctx, c) }()
	if c.Resumed {
		// What changed while it was away is in the events it missed.
		return nil, nil
	}
	snap, err := t.snapshot(ctx, c.SessionID)
	if err != nil {
		t.stop(c.ID)
		return nil, err
	}
	return []*gamepb.GameEvent{snap}, nil
}

// Closed implements querylive.ConnHook: a clean close leaves at once;
// otherwise the conn expires after the TTL (the sweep announces it).
func (t *Tracker) Closed(c querylive.ConnInfo, clean bool) {
	if !tracked(c) {
		return
	}
	t.stop(c.ID)
	if !clean {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := leaveScript.Run(ctx, t.rdb,
		[]string{t.key(c.SessionID), t.key(c.SessionID, "seq"), t.key("sessions")},
		member(c), c.Caller.UserID+"|", c.SessionID, t.ttlMS()).Int64Slice()
	if err != nil {
		t.log.Warn("presence: leaving failed; the conn expires instead", "session_id", c.SessionID, "err", err)
		return
	}
	if res[0] == 1 {
		t.announce(ctx, Left, c.SessionID, c.Caller.UserID, res[1])
	}
}

// stop ends a conn's heartbeat and waits for it, so no beat in flight
// lands after the conn's leave and brings it back.
func (t *Tracker) stop(connID string) {
	t.mu.Lock()
	b, ok := t.beats[connID]
	delete(t.beats, connID)
	t.mu.Unlock()
	if ok {
		b.cancel()
		<-b.done
	}
}

// beat adds or refreshes the conn, announcing a join.
func (t *Tracker) beat(ctx context.Context, c querylive.ConnInfo) error {
	res, err := joinScript.Run(ctx, t.rdb,
		[]string{t.key(c.SessionID), t.key(c.SessionID, "seq"), t.key("sessions"), t.key("online")},
		member(c), c.Caller.UserID+"|", t.ttlMS(), c.SessionID, c.Caller.UserID).Int64Slice()
	if err != nil {
		return apperr.Unavailable("presence unavailable", fmt.Errorf("presence join: %w", err))
	}
	if res[0] == 1 {
		t.announce(ctx, Joined, c.SessionID, c.Caller.UserID, res[1])
	}
	return nil
}

// heartbeat refreshes the conn every third of the TTL while it is open.
// A conn swept meanwhile (a stalled instance) is present again, and
// announced again, on its next beat.
func (t *Tracker) heartbeat(ctx context.Context, c querylive.ConnInfo) {
	tick := time.NewTicker(max(t.ttl/3, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// Not cancelled by stop: a beat runs to its end, then stop
			// returns (see stop).
			bctx, cancel := context.WithTimeout(context.Background(), t.ttl)
			if err := t.beat(bctx, c); err != nil {
				t.log.Warn("presence heartbeat failed", "session_id", c.SessionID, "err", err)
			}
			cancel()
		}
	}
}

// announce publishes a joined/left event into the session's stream. A
// session that finished (or was deleted) takes no more events; that is not
// worth a warning.
func (t *Tracker) announce(ctx context.Context, name, sessionID, userID string, seq int64) {
	ev := &gamepb.GameEvent{
		EventName: proto.String(name), Type: gamepb.GameEvent_TYPE_SYSTEM,
		SessionId: proto.String(sessionID), PlayerId: proto.String(userID),
		Attributes: map[string]*gamepb.GameEvent_EventAttribute{
			"player_id": str(userID),
			"seq":       {Value: &gamepb.GameEvent_EventAttribute_IntValue{IntValue: int32(seq)}},
		},
	}
	if err := t.publish(context.WithoutCancel(ctx), ev); err != nil && !apperr.Is(err, apperr.KindFailedPrecondition) && !apperr.Is(err, apperr.KindNotFound) {
		t.log.Warn("presence: announcing failed", "event", name, "session_id", sessionID, "err", err)
	}
}

// Members returns the users connected to a session now, sorted, and the
// sequence number of the last change.
func (t *Tracker) Members(ctx context.Context, sessionID string) ([]string, int64, error) {
	raw, err := snapshotScript.Run(ctx, t.rdb, []string{t.key(sessionID), t.key(sessionID, "seq")}).Slice()
	if err != nil {
		return nil, 0, apperr.Unavailable("presence unavailable", fmt.Errorf("presence snapshot: %w", err))
	}
	seq, _ := raw[0].(int64)
	var users []string
	for _, m := range raw[1:] {
		s, _ := m.(string)
		u, _, _ := strings.Cut(s, "|")
		users = append(users, u)
	}
	slices.Sort(users)
	return slices.Compact(users), seq, nil
}

// snapshot is the presence.snapshot event of a session: data is
// {"player_ids": [...]}, attributes count and seq.
func (t *Tracker) snapshot(ctx context.Context, sessionID string) (*gamepb.GameEvent, error) {
	users, seq, err := t.Members(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if users == nil {
		users = []string{}
	}
	data, err := json.Marshal(map[string][]string{"player_ids": users})
	if err != nil {
		return nil, apperr.Internal("presence snapshot", err)
	}
	return &gamepb.GameEvent{
		EventName: proto.String(Snapshot), Type: gamepb.GameEvent_TYPE_SYSTEM,
		SessionId: proto.String(sessionID), Timestamp: time.Now().UnixMilli(), Data: proto.String(string(data)),
		Attributes: map[string]*gamepb.GameEvent_EventAttribute{
			"count": {Value: &gamepb.GameEvent_EventAttribute_IntValue{IntValue: int32(len(users))}},
			"seq":   {Value: &gamepb.GameEvent_EventAttribute_IntValue{IntValue: int32(seq)}},
		},
	}, nil
}

func str(v string) *gamepb.GameEvent_EventAttribute {
	return &gamepb.GameEvent_EventAttribute{Value: &gamepb.GameEvent_EventAttribute_StringValue{StringValue: v}}
}
