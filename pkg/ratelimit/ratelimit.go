// Package ratelimit is a fixed-window counter in Redis, shared by every
// replica of a service.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/redisx"
)

// Limiter allows up to Limit hits per Window per key.
type Limiter struct {
	rdb    *redis.Client
	keys   redisx.Keys
	name   string
	limit  int
	window time.Duration
}

// New returns a limiter whose keys live under name.
func New(rdb *redis.Client, keys redisx.Keys, name string, limit int, window time.Duration) *Limiter {
	return &Limiter{rdb: rdb, keys: keys, name: name, limit: limit, window: window}
}

// Decision is the outcome of one hit.
type Decision struct {
	Allowed    bool
	RetryAfter time.Duration // until the window resets, when not allowed
}

// hitScript: INCR, start the window on the first hit, return count and
// remaining window in ms.
var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`)

// Hit counts one attempt for key.
func (l *Limiter) Hit(ctx context.Context, key string) (Decision, error) {
	res, err := hitScript.Run(ctx, l.rdb, []string{l.keys.Key("rl", l.name, key)}, l.window.Milliseconds()).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", l.name, err)
	}
	if res[0] > int64(l.limit) {
		return Decision{Allowed: false, RetryAfter: time.Duration(res[1]) * time.Millisecond}, nil
	}
	return Decision{Allowed: true}, nil
}

// Reset forgets key's hits (e.g. after a successful login).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	return l.rdb.Del(ctx, l.keys.Key("rl", l.name, key)).Err()
}
