// Package redisx connects to Redis and namespaces keys, so several platforms
// (or test runs) can share one server without seeing each other's state.
package redisx

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys builds namespaced Redis keys.
type Keys struct{ prefix string }

// NewKeys returns a key builder with the given prefix (e.g. "oof:").
func NewKeys(prefix string) Keys { return Keys{prefix: prefix} }

// Key joins parts under the prefix: Key("rt", id) = "oof:rt:id".
func (k Keys) Key(parts ...string) string {
	out := k.prefix
	for i, p := range parts {
		if i > 0 {
			out += ":"
		}
		out += p
	}
	return out
}

// Prefix is the namespace of every key.
func (k Keys) Prefix() string { return k.prefix }

// Connect opens a client and checks it answers within timeout.
func Connect(ctx context.Context, addr string, timeout time.Duration) (*redis.Client, error) {
	RouteClientLogs()
	c := redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		PoolSize:     64,
		MinIdleConns: 4,
	})
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	return c, nil
}
