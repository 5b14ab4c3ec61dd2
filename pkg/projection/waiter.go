package projection

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// Waiter lets a command wait until a projector has applied the event it just
// produced. Progress arrives by LISTEN on NotifyChannel; a slow poll of
// projector_offsets covers notifications missed while reconnecting.
type Waiter struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu      sync.Mutex
	marks   map[markKey]int64 // next offset to apply
	changed chan struct{}     // closed and replaced on every advance
}

type markKey struct {
	projector string
	topic     string
	partition int32
}

// NewWaiter returns a waiter; call Run to start listening.
func NewWaiter(pool *pgxpool.Pool, log *slog.Logger) *Waiter {
	return &Waiter{pool: pool, log: log, marks: map[markKey]int64{}, changed: make(chan struct{})}
}

// Run listens for progress until ctx ends, reconnecting on failure.
func (w *Waiter) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := w.listen(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("projection listener failed; reconnecting", "err", err)
			sleep(ctx, 500*time.Millisecond)
		}
	}
	return nil
}

func (w *Waiter) listen(ctx context.Context) error {
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTENing connection must not go back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if projector, ok := parseReset(n.Payload); ok {
			w.Forget(projector)
		} else if k, next, ok := parseNotify(n.Payload); ok {
			w.advance(k, next)
		}
	}
}

func parseReset(payload string) (string, bool) {
	projector, ok := strings.CutSuffix(payload, "|reset")
	return projector, ok && !strings.Contains(projector, "|")
}

// Forget drops what the waiter knew of projector's progress, after a
// rebuild: its offsets start again from the oldest record, and a mark left
// from before would make a wait end before the rebuilt model has the event.
// Waits then learn the progress afresh from PostgreSQL.
func (w *Waiter) Forget(projector string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.marks {
		if k.projector == projector {
			delete(w.marks, k)
		}
	}
}

func parseNotify(payload string) (markKey, int64, bool) {
	parts := strings.Split(payload, "|")
	if len(parts) != 4 {
		return markKey{}, 0, false
	}
	p, err1 := strconv.ParseInt(parts[2], 10, 32)
	next, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil {
		return markKey{}, 0, false
	}
	return markKey{parts[0], parts[1], int32(p)}, next, true
}

// Advance records that projector has applied topic/partition up to next
// (exclusive); runners in the same process call it after each commit.
func (w *Waiter) Advance(projector, topic string, partition int32, next int64) {
	w.advance(markKey{projector, topic, partition}, next)
}

func (w *Waiter) advance(k markKey, next int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if next <= w.marks[k] {
		return
	}
	w.marks[k] = next
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *Waiter) known(k markKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.marks[k]
	return ok
}

func (w *Waiter) current(k markKey) (int64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.marks[k], w.changed
}

// WaitFor blocks until projector has applied the event at pos, or ctx ends.
func (w *Waiter) WaitFor(ctx context.Context, projector string, pos eventlog.Position) error {
	k := markKey{projector, pos.Topic, pos.Partition}
	if !w.known(k) {
		// The first wait on a partition asks where it is: progress made
		// before this process listened was never announced to it. Later
		// progress arrives by NOTIFY (and the slow poll below).
		w.refresh(ctx, k)
	}
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for {
		next, changed := w.current(k)
		if next > pos.Offset {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to reach %s/%d@%d: %w", projector, pos.Topic, pos.Partition, pos.Offset, ctx.Err())
		case <-changed:
		case <-poll.C:
			w.refresh(ctx, k)
		}
	}
}

func (w *Waiter) refresh(ctx context.Context, k markKey) {
	if stored, ok, err := loadOffset(ctx, w.pool, k.projector, k.topic, k.partition); err == nil && ok {
		w.advance(k, stored)
	}
}
