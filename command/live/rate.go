package live

import (
	"fmt"
	"sync"
	"time"

	"github.com/oof-gg/platform/pkg/apperr"
)

// limiter is a token bucket per player, in this process: refill at rate
// tokens/s up to burst, take one per event. It used to live in Redis (one
// Lua call per event, shared by every instance); at thousands of events/s
// that round trip and script were a large part of the live path's CPU
// (the profile behind docs/realtime.md, Performance). A player's streams
// are normally on one instance, so a limit per instance is what players
// meet; one connected to n instances at once may send up to n× the rate,
// which the members' own buffers and the session window still bound.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	ts     time.Time
}

// take takes one token of key's bucket at now; when none is left it
// returns how long until one is.
func (l *limiter) take(key string, rate, burst int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	full := time.Duration(float64(burst) / float64(rate) * float64(time.Second))
	if now.Sub(l.swept) > full+time.Second && len(l.buckets) > 1024 {
		// A bucket idle long enough to be full again is the same as none.
		for k, b := range l.buckets {
			if now.Sub(b.ts) > full {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(burst), ts: now}
		l.buckets[key] = b
	}
	if d := now.Sub(b.ts); d > 0 {
		b.tokens = min(float64(burst), b.tokens+d.Seconds()*float64(rate))
		b.ts = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / float64(rate) * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

// allow takes one token of player's bucket (OOF_LIVE_RATE/OOF_LIVE_BURST).
// The clock is the process's monotonic one, not p.Now: a rate is about
// real time.
func (p *Publisher) allow(player string) error {
	ok, wait := p.rate.take(player, p.Limits.Rate, p.Limits.Burst, time.Now())
	if ok {
		return nil
	}
	return apperr.ResourceExhausted(fmt.Sprintf("too many live events: at most %d per second (bursts of %d); slow down",
		p.Limits.Rate, p.Limits.Burst), wait.Round(time.Millisecond))
}
