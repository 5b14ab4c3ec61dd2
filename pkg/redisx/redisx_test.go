package redisx

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/oof-gg/platform/pkg/redisx/redistest"
	"github.com/redis/go-redis/v9"
)

// quietLog silences go-redis's pool logging (the dial failures below are
// expected).
type quietLog struct{}

func (quietLog) Printf(context.Context, string, ...any) {}

func TestKeys(t *testing.T) {
	cases := []struct {
		prefix string
		parts  []string
		want   string
	}{
		{"oof:", []string{"rt", "abc"}, "oof:rt:abc"},
		{"oof:", []string{"rl", "login", "1.2.3.4"}, "oof:rl:login:1.2.3.4"},
		{"oof:", []string{"single"}, "oof:single"},
		{"oof:", nil, "oof:"},
		{"", []string{"a", "b"}, "a:b"},
		{"t42:", []string{"rt", "{sid}", "hash"}, "t42:rt:{sid}:hash"},
		{"oof:", []string{"", "x"}, "oof::x"},
	}
	for _, tc := range cases {
		k := NewKeys(tc.prefix)
		if got := k.Key(tc.parts...); got != tc.want {
			t.Errorf("NewKeys(%q).Key(%q) = %q, want %q", tc.prefix, tc.parts, got, tc.want)
		}
		if k.Prefix() != tc.prefix {
			t.Errorf("Prefix() = %q, want %q", k.Prefix(), tc.prefix)
		}
	}
}

func startRedis(t *testing.T) string { return redistest.Addr(t) }

func TestConnect(t *testing.T) {
	addr := startRedis(t)
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, cerr := Connect(context.Background(), addr, time.Second)
		if err = cerr; err == nil {
			defer c.Close()
			if err := c.Set(context.Background(), NewKeys("redisx-test:").Key("k"), "v", time.Minute).Err(); err != nil {
				t.Fatalf("client does not work: %v", err)
			}
			return
		}
	}
	t.Fatalf("Connect to a running server: %v", err)
}

func TestConnectFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here any more
	redis.SetLogger(quietLog{})
	start := time.Now()
	c, err := Connect(context.Background(), addr, 500*time.Millisecond)
	if err == nil {
		c.Close()
		t.Fatal("Connect succeeded with no server")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Connect took %v, want it bounded by its timeout", d)
	}
}
