// Package projectiontest is the one test suite every projection.OffsetStore
// implementation passes (run against each with real servers, from
// tests/integration), so the runner can rely on the same behaviour from
// all of them.
package projectiontest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"github.com/oof-gg/platform/pkg/projection"
)

// OffsetStore runs the suite against the store newStore returns (called
// once per case); the cases use projector names of their own.
func OffsetStore(t *testing.T, newStore func(t *testing.T) projection.OffsetStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string)
	}{
		{"nothing stored yet", func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string) {
			requireOffset(t, ctx, s, proj, "topic.a", 0, 0, false)
		}},
		{"advance then load", func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string) {
			advance(t, ctx, s, proj, "topic.a", 2, 17)
			requireOffset(t, ctx, s, proj, "topic.a", 2, 17, true)
			advance(t, ctx, s, proj, "topic.a", 2, 18)
			requireOffset(t, ctx, s, proj, "topic.a", 2, 18, true)
		}},
		{"offset zero is stored", func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string) {
			advance(t, ctx, s, proj, "topic.a", 0, 0)
			requireOffset(t, ctx, s, proj, "topic.a", 0, 0, true)
		}},
		{"never moves back", func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string) {
			advance(t, ctx, s, proj, "topic.a", 1, 40)
			advance(t, ctx, s, proj, "topic.a", 1, 12)
			advance(t, ctx, s, proj, "topic.a", 1, 40)
			requireOffset(t, ctx, s, proj, "topic.a", 1, 40, true)
		}},
		{"partitions, topics and projectors are apart", func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string) {
			advance(t, ctx, s, proj, "topic.a", 0, 5)
			advance(t, ctx, s, proj, "topic.a", 1, 7)
			advance(t, ctx, s, proj, "topic.b", 0, 9)
			advance(t, ctx, s, proj+"-other", "topic.a", 0, 11)
			requireOffset(t, ctx, s, proj, "topic.a", 0, 5, true)
			requireOffset(t, ctx, s, proj, "topic.a", 1, 7, true)
			requireOffset(t, ctx, s, proj, "topic.b", 0, 9, true)
			requireOffset(t, ctx, s, proj+"-other", "topic.a", 0, 11, true)
			requireOffset(t, ctx, s, proj, "topic.b", 1, 0, false)
		}},
		{"forget drops one projector's offsets", func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string) {
			advance(t, ctx, s, proj, "topic.a", 0, 5)
			advance(t, ctx, s, proj, "topic.b", 3, 6)
			advance(t, ctx, s, proj+"-other", "topic.a", 0, 8)
			if err := s.Forget(ctx, proj); err != nil {
				t.Fatal(err)
			}
			requireOffset(t, ctx, s, proj, "topic.a", 0, 0, false)
			requireOffset(t, ctx, s, proj, "topic.b", 3, 0, false)
			requireOffset(t, ctx, s, proj+"-other", "topic.a", 0, 8, true)
			advance(t, ctx, s, proj, "topic.a", 0, 1) // and starts again from anywhere
			requireOffset(t, ctx, s, proj, "topic.a", 0, 1, true)
		}},
		{"concurrent owners end at the furthest", func(t *testing.T, ctx context.Context, s projection.OffsetStore, proj string) {
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 25 {
						if err := s.Advance(ctx, proj, "topic.a", 0, int64(i*4+w)); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			requireOffset(t, ctx, s, proj, "topic.a", 0, 99, true)
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, t.Context(), s, fmt.Sprintf("suite-%d-%s", i, rand.Text()[:8]))
		})
	}
}

func advance(t *testing.T, ctx context.Context, s projection.OffsetStore, proj, topic string, p int32, next int64) {
	t.Helper()
	if err := s.Advance(ctx, proj, topic, p, next); err != nil {
		t.Fatalf("advance %s %s/%d to %d: %v", proj, topic, p, next, err)
	}
}

func requireOffset(t *testing.T, ctx context.Context, s projection.OffsetStore, proj, topic string, p int32, want int64, wantOK bool) {
	t.Helper()
	got, ok, err := s.Load(ctx, proj, topic, p)
	if err != nil {
		t.Fatalf("load %s %s/%d: %v", proj, topic, p, err)
	}
	if ok != wantOK || (ok && got != want) {
		t.Fatalf("load %s %s/%d = %d, %v; want %d, %v", proj, topic, p, got, ok, want, wantOK)
	}
}
