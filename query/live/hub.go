// Package live is the outbound half of live events (docs/realtime.md):
// a Hub per stream-target instance follows the sessions that have members
// connected here with XREAD BLOCK, many sessions per read (reader.go), and
// copies each entry into every member's
// bounded buffer; a member that falls behind is dropped, never waited for.
// grpc.go serves GameService/InstanceService.StreamEvents on it.
package live

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	projlive "github.com/oof-gg/platform/projector/live"
)

// Entry is one event of a session's stream, with its stream id.
type Entry struct {
	StreamID string
	Event    *gamepb.GameEvent
}

// Hub reads the sessions' Redis streams for the members connected to this
// instance.
type Hub struct {
	rdb    *redis.Client // blocking reads: a pool of its own (see platform)
	prefix string
	buffer int
	block  time.Duration
	log    *slog.Logger

	mu     sync.Mutex
	rooms  map[string]*room // by session id
	shards []*shard         // reader.go
}

// NewHub returns a hub; buffer is each member's queue length.
func NewHub(rdb *redis.Client, prefix string, buffer int, log *slog.Logger) *Hub {
	return &Hub{rdb: rdb, prefix: prefix, buffer: buffer, block: 2 * time.Second, log: log, rooms: map[string]*room{}}
}

// room is one session with local members and the reader that feeds them.
type room struct {
	key   string
	shard *shard

	mu      sync.Mutex
	last    string // the last entry id handed to the members
	members map[*Conn]struct{}
}

// Conn is one member's subscription.
type Conn struct {
	// Backlog is what the member missed before it subscribed (a resume),
	// to be sent before anything from C.
	Backlog []Entry
	c       chan Entry
	done    chan struct{}
	err     error
	once    sync.Once
	// after: entries at or before it were already sent (or seen by the
	// client before it resumed); the reader may still offer them when
	// another instance's reader ran ahead of this one.
	after string
}

// C delivers the session's events after the backlog, in stream order.
func (c *Conn) C() <-chan Entry { return c.c }

// Done is closed when the hub dropped the member; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the member was dropped.
func (c *Conn) Err() error { return c.err }

// Fresh reports whether e is after everything the member has had, and if
// so records it as had: the one filter against duplicates.
func (c *Conn) Fresh(e Entry) bool {
	if c.after != "" && !idAfter(e.StreamID, c.after) {
		return false
	}
	c.after = e.StreamID
	return true
}

func (c *Conn) drop(err error) {
	c.once.Do(func() { c.err = err; close(c.done) })
}

// ErrFellBehind ends a member whose buffer filled.
func ErrFellBehind() error {
	return apperr.ResourceExhausted("fell behind the session's events; reconnect with the last event id you saw", 0)
}

// Subscribe connects a member to a session's events: everything after the
// event with id afterEventID (empty: from now on). An id no longer in the
// session's window fails OUT_OF_RANGE. Close the Conn with Leave.
func (h *Hub) Subscribe(ctx context.Context, sessionID, afterEventID string) (*Conn, error) {
	key := projlive.StreamKey(h.prefix, sessionID)
	var resumeAt string
	if afterEventID != "" {
		id, err := h.find(ctx, key, afterEventID)
		if err != nil {
			return nil, err
		}
		resumeAt = id
	}
	c := &Conn{c: make(chan Entry, h.buffer), done: make(chan struct{}), after: resumeAt}
	upTo, err := h.join(ctx, sessionID, key, c)
	if err != nil {
		return nil, err
	}
	if resumeAt != "" && idAfter(upTo, resumeAt) {
		// What came between the resume point and where the reader stood
		// when the member joined; the reader hands over the rest.
		msgs, err := h.rdb.XRange(ctx, key, "("+resumeAt, upTo).Result()
		if err != nil {
			h.Leave(sessionID, c)
			return nil, apperr.Unavailable("live state unavailable", err)
		}
		for _, m := range msgs {
			if e, ok := decode(m); ok {
				c.Backlog = append(c.Backlog, e)
			}
		}
	}
	return c, nil
}

// join adds c to the session's room, starting the room's reader at the
// stream's current end when c is the first local member, and returns the
// last entry the reader has handed out: c gets every entry after it.
func (h *Hub) join(ctx context.Context, sessionID, key string, c *Conn) (string, error) {
	last, wakeKey, err := h.enter(ctx, sessionID, key, c)
	if err == nil {
		h.wake(ctx, wakeKey)
	}
	return last, err
}

// enter is join under h.mu.
func (h *Hub) enter(ctx context.Context, sessionID, key string, c *Conn) (string, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.rooms[sessionID]; ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.members[c] = struct{}{}
		return r.last, "", nil
	}
	last := "0-0"
	msgs, err := h.rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return "", "", apperr.Unavailable("live state unavailable", err)
	}
	if len(msgs) == 1 {
		last = msgs[0].ID
	}
	r := &room{key: key, last: last, members: map[*Conn]struct{}{c: {}}}
	h.rooms[sessionID] = r
	return last, h.place(r), nil
}

// Leave disconnects a member; the last one stops the session's reader.
func (h *Hub) Leave(sessionID string, c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.rooms[sessionID]
	if !ok {
		return
	}
	r.mu.Lock()
	delete(r.members, c)
	empty := len(r.members) == 0
	r.mu.Unlock()
	if empty {
		h.unplace(r)
		delete(h.rooms, sessionID)
	}
}

// readCount is how many entries one XREAD takes: at most half a member's
// buffer, so one read alone never overflows a member that keeps up (a
// burst of 256 used to drop members with a small buffer that were not
// behind at all), and at most 256.
func (h *Hub) readCount() int64 {
	return int64(min(256, max(1, h.buffer/2)))
}

// deliver hands entries to every member without waiting: a member whose
// buffer is full is dropped.
func (h *Hub) deliver(r *room, msgs []redis.XMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.last = m.ID
		e, ok := decode(m)
		if !ok {
			h.log.Error("undecodable live stream entry skipped", "stream", r.key, "id", m.ID)
			continue
		}
		for c := range r.members {
			select {
			case c.c <- e:
			default:
				delete(r.members, c)
				c.drop(ErrFellBehind())
			}
		}
	}
}

// find returns the stream id of the event with id eventID, searching the
// window from its newest end (a resume is usually recent).
func (h *Hub) find(ctx context.Context, key, eventID string) (string, error) {
	end := "+"
	for {
		msgs, err := h.rdb.XRevRangeN(ctx, key, end, "-", 200).Result()
		if err != nil {
			return "", apperr.Unavailable("live state unavailable", err)
		}
		for _, m := range msgs {
			if id, _ := m.Values[projlive.FieldID].(string); id == eventID {
				return m.ID, nil
			}
		}
		if len(msgs) < 200 {
			return "", apperr.OutOfRange(fmt.Sprintf(
				"event %q is no longer in the session's resume window; reload the session's state and reconnect without resuming", eventID))
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
}

func decode(m redis.XMessage) (Entry, bool) {
	raw, _ := m.Values[projlive.FieldEvent].(string)
	ev := &gamepb.GameEvent{}
	if err := proto.Unmarshal([]byte(raw), ev); err != nil {
		return Entry{}, false
	}
	return Entry{StreamID: m.ID, Event: ev}, true
}

// idAfter reports whether stream id a comes after b ("<ms>-<seq>").
func idAfter(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am > bm || am == bm && as > bs
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}
