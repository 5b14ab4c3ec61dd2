package live

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oof-gg/platform/pkg/redisx/redistest"
)

// Marks sent together in pipelines still answer each caller for its own
// key: exactly one first per key, however many callers race.
func TestSeenBatcher(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	prefix := "seentest:" + uuid.NewString() + ":"
	var b seenBatcher
	const keys, callers = 50, 8
	var firsts [keys]atomic.Int32
	var wg sync.WaitGroup
	for c := range callers {
		for k := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first, err := b.mark(ctx, rdb, fmt.Sprintf("%s%d", prefix, (k+c)%keys), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if first {
					firsts[(k+c)%keys].Add(1)
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		if n := firsts[k].Load(); n != 1 {
			t.Fatalf("key %d: %d callers saw it first, want 1", k, n)
		}
	}
	if ttl := rdb.PTTL(ctx, prefix+"0").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("mark TTL %v, want ≤ 1m", ttl)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running || len(b.pending) != 0 {
		t.Fatalf("batcher left running=%v pending=%d", b.running, len(b.pending))
	}
}
