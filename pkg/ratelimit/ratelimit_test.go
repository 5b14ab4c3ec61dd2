package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/redisx"
	"github.com/oof-gg/platform/pkg/redisx/redistest"
)

func redisClient(t *testing.T) *redis.Client { return redistest.Client(t) }

var testRun atomic.Int64

// keys gives every test its own namespace on a shared server.
func keys() redisx.Keys {
	return redisx.NewKeys("rltest:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":" + strconv.FormatInt(testRun.Add(1), 10) + ":")
}

func TestLimiterWindow(t *testing.T) {
	rdb := redisClient(t)
	ctx := context.Background()
	l := New(rdb, keys(), "login", 3, 2*time.Second)
	for i := 1; i <= 3; i++ {
		d, err := l.Hit(ctx, "ann")
		if err != nil || !d.Allowed || d.RetryAfter != 0 {
			t.Fatalf("hit %d = %+v, %v; want allowed", i, d, err)
		}
	}
	for i := 4; i <= 5; i++ {
		d, err := l.Hit(ctx, "ann")
		if err != nil || d.Allowed {
			t.Fatalf("hit %d = %+v, %v; want denied", i, d, err)
		}
		if d.RetryAfter <= 0 || d.RetryAfter > 2*time.Second {
			t.Fatalf("hit %d RetryAfter = %v, want within the window", i, d.RetryAfter)
		}
	}
	// Other keys and other limiters are independent.
	if d, _ := l.Hit(ctx, "bob"); !d.Allowed {
		t.Fatal("bob limited by ann's hits")
	}
	if d, _ := New(rdb, l.keys, "register", 3, 2*time.Second).Hit(ctx, "ann"); !d.Allowed {
		t.Fatal("another limiter name shares ann's counter")
	}
	// The window is fixed from the first hit and then resets.
	key := l.keys.Key("rl", "login", "ann")
	if pttl := rdb.PTTL(ctx, key).Val(); pttl <= 0 || pttl > 2*time.Second {
		t.Fatalf("counter ttl %v, want within the window", pttl)
	}
	time.Sleep(2100 * time.Millisecond)
	if d, err := l.Hit(ctx, "ann"); err != nil || !d.Allowed {
		t.Fatalf("after the window = %+v, %v; want allowed", d, err)
	}
}

func TestLimiterReset(t *testing.T) {
	rdb := redisClient(t)
	ctx := context.Background()
	l := New(rdb, keys(), "login", 1, time.Minute)
	if d, _ := l.Hit(ctx, "ann"); !d.Allowed {
		t.Fatal("first hit denied")
	}
	if d, _ := l.Hit(ctx, "ann"); d.Allowed {
		t.Fatal("second hit allowed with limit 1")
	}
	if err := l.Reset(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Hit(ctx, "ann"); !d.Allowed {
		t.Fatal("hit after Reset denied")
	}
}

func TestLimiterCounterWithoutTTLIsRepaired(t *testing.T) {
	rdb := redisClient(t)
	ctx := context.Background()
	l := New(rdb, keys(), "login", 5, time.Minute)
	key := l.keys.Key("rl", "login", "ann")
	// A counter that lost its expiry (e.g. PERSIST by hand) must not limit
	// the key forever.
	if err := rdb.Set(ctx, key, 10, 0).Err(); err != nil {
		t.Fatal(err)
	}
	d, err := l.Hit(ctx, "ann")
	if err != nil || d.Allowed {
		t.Fatalf("hit = %+v, %v; want denied", d, err)
	}
	if d.RetryAfter != time.Minute {
		t.Fatalf("RetryAfter = %v, want the full window", d.RetryAfter)
	}
	if pttl := rdb.PTTL(ctx, key).Val(); pttl <= 0 {
		t.Fatalf("counter still has no expiry: %v", pttl)
	}
}

func TestLimiterConcurrentHitsAreCounted(t *testing.T) {
	rdb := redisClient(t)
	l := New(rdb, keys(), "login", 10, time.Minute)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := l.Hit(context.Background(), "ann")
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != 10 {
		t.Fatalf("%d of 40 concurrent hits allowed, want exactly 10", got)
	}
}

// quietLog silences go-redis's pool logging (expected dial failures).
type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

func TestLimiterRedisDown(t *testing.T) {
	redis.SetLogger(quietLog{})
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	if _, err := New(rdb, keys(), "login", 1, time.Minute).Hit(context.Background(), "ann"); err == nil {
		t.Fatal("Hit succeeded without Redis")
	}
}
