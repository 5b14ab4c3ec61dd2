package live

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxSeenBatch bounds one pipeline of de-duplication marks.
const maxSeenBatch = 512

// seenBatcher sends the SET NX marks of events published at the same
// time, by many streams, in one Redis pipeline: one write and one read
// instead of one round trip each, which at thousands of events/s was the
// largest Redis cost left on the live path (both in this process and in
// Redis). There is no background goroutine: the caller that finds no
// batch running sends one (group commit), and a caller that arrives
// meanwhile is sent with the next.
type seenBatcher struct {
	mu      sync.Mutex
	pending []*seenReq
	running bool
}

type seenReq struct {
	key   string
	first bool
	err   error
	done  chan struct{}
}

// mark sets key (NX, ttl) and reports whether it was not set before.
func (b *seenBatcher) mark(ctx context.Context, rdb *redis.Client, key string, ttl time.Duration) (bool, error) {
	r := &seenReq{key: key, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, r)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		b.run(context.WithoutCancel(ctx), rdb, ttl)
	}
	// Not abandoned on cancellation: the mark may land, and its outcome
	// decides whether the event is produced. go-redis's timeouts bound it.
	<-r.done
	return r.first, r.err
}

// run sends the pending batch; what arrived in the meantime is sent by a
// goroutine of its own so the leader's caller is not held up.
func (b *seenBatcher) run(ctx context.Context, rdb *redis.Client, ttl time.Duration) {
	b.mu.Lock()
	n := min(len(b.pending), maxSeenBatch)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	if len(b.pending) == 0 {
		b.pending = nil
	}
	b.mu.Unlock()

	pipe := rdb.Pipeline()
	cmds := make([]*redis.BoolCmd, len(batch))
	for i, r := range batch {
		cmds[i] = pipe.SetNX(ctx, r.key, "1", ttl)
	}
	_, _ = pipe.Exec(ctx)
	for i, r := range batch {
		r.first, r.err = cmds[i].Result()
		close(r.done)
	}

	b.mu.Lock()
	more := len(b.pending) > 0
	b.running = more
	b.mu.Unlock()
	if more {
		go b.run(ctx, rdb, ttl)
	}
}
