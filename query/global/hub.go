// Package global is the outbound half of global events (docs/realtime.md,
// Global events): a Hub per stream-target instance runs one XREAD BLOCK on
// the global Redis stream while clients are connected here, and copies
// each entry into every client's bounded buffer; a client that falls
// behind is dropped, never waited for. grpc.go serves
// GlobalService.StreamEvents on it.
package global

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	globalpb "github.com/oof-gg/platform/api/gen/v1/api/global"
	"github.com/oof-gg/platform/pkg/apperr"
	projglobal "github.com/oof-gg/platform/projector/global"
)

// Hub reads the global stream for the clients connected to this instance.
type Hub struct {
	rdb    *redis.Client // blocking reads: the live hub's pool (see platform)
	key    string
	buffer int
	block  time.Duration
	log    *slog.Logger

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	cancel context.CancelFunc // the reader's, while there are conns
}

// NewHub returns a hub; buffer is each client's queue length.
func NewHub(rdb *redis.Client, prefix string, buffer int, log *slog.Logger) *Hub {
	return &Hub{rdb: rdb, key: projglobal.StreamKey(prefix), buffer: buffer, block: 2 * time.Second, log: log,
		conns: map[*Conn]struct{}{}}
}

// Conn is one client's subscription.
type Conn struct {
	c    chan *globalpb.GlobalEvent
	done chan struct{}
	err  error
	once sync.Once
}

// C delivers the global events published after the client subscribed.
func (c *Conn) C() <-chan *globalpb.GlobalEvent { return c.c }

// Done is closed when the hub dropped the client; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the client was dropped.
func (c *Conn) Err() error { return c.err }

func (c *Conn) drop(err error) { c.once.Do(func() { c.err = err; close(c.done) }) }

// ErrFellBehind ends a client whose buffer filled.
func ErrFellBehind() error {
	return apperr.ResourceExhausted("fell behind the global events; reconnect", 0)
}

// Subscribe connects a client to the events published from now on. Close
// the Conn with Leave.
func (h *Hub) Subscribe(ctx context.Context) (*Conn, error) {
	c := &Conn{c: make(chan *globalpb.GlobalEvent, h.buffer), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancel == nil {
		last := "0-0"
		msgs, err := h.rdb.XRevRangeN(ctx, h.key, "+", "-", 1).Result()
		if err != nil {
			return nil, apperr.Unavailable("global events unavailable", err)
		}
		if len(msgs) == 1 {
			last = msgs[0].ID
		}
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		h.cancel = cancel
		go h.read(rctx, last)
	}
	h.conns[c] = struct{}{}
	return c, nil
}

// Leave disconnects a client; the last one stops the reader.
func (h *Hub) Leave(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if len(h.conns) == 0 && h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
}

// read is this instance's one XREAD BLOCK loop on the global stream.
func (h *Hub) read(ctx context.Context, from string) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		res, err := h.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{h.key, from}, Count: int64(min(256, max(1, h.buffer/2))), Block: h.block}).Result() // half a buffer: see query/live.Hub.readCount
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("global stream read failed; retrying", "err", err)
				sleep(ctx, wait)
				wait = min(wait*2, 5*time.Second)
			}
			continue
		}
		wait = 100 * time.Millisecond
		for _, s := range res {
			if n := len(s.Messages); n > 0 {
				from = s.Messages[n-1].ID
			}
			h.deliver(ctx, s.Messages)
		}
	}
}

// deliver hands entries to every client without waiting: a client whose
// buffer is full is dropped.
func (h *Hub) deliver(ctx context.Context, msgs []redis.XMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		return // a reader stopped (a new one may own the conns now)
	}
	for _, m := range msgs {
		raw, _ := m.Values[projglobal.FieldEvent].(string)
		ev := &globalpb.GlobalEvent{}
		if err := proto.Unmarshal([]byte(raw), ev); err != nil {
			h.log.Error("undecodable global stream entry skipped", "id", m.ID)
			continue
		}
		for c := range h.conns {
			select {
			case c.c <- ev:
			default:
				delete(h.conns, c)
				c.drop(ErrFellBehind())
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
