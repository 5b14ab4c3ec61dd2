package projection

import (
	"context"
	"sync"
)

// BatchSlot carries what a projector's ApplyAll (or Apply) wrote in one
// attempt at a batch to its BatchHooks.AfterCommit, which runs only when
// that attempt committed. A mirror can then copy exactly the committed
// state it wrote, without reading it back: every attempt gets a new slot,
// so nothing of an attempt that rolled back reaches AfterCommit.
type BatchSlot struct {
	mu     sync.Mutex
	values []any
}

type batchSlotKey struct{}

// withBatchSlot gives ctx a new slot for one attempt at a batch.
func withBatchSlot(ctx context.Context) context.Context {
	return context.WithValue(ctx, batchSlotKey{}, &BatchSlot{})
}

// BatchSlotFrom is the slot of the attempt ctx belongs to, or nil when the
// caller gives none (a rebuild's catch-up, which mirrors nothing).
func BatchSlotFrom(ctx context.Context) *BatchSlot {
	s, _ := ctx.Value(batchSlotKey{}).(*BatchSlot)
	return s
}

// Add records v for AfterCommit.
func (s *BatchSlot) Add(v ...any) {
	s.mu.Lock()
	s.values = append(s.values, v...)
	s.mu.Unlock()
}

// Values is what the attempt recorded, in order.
func (s *BatchSlot) Values() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]any(nil), s.values...)
}
