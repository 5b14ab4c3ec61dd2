// Package redistest gives unit tests a real Redis: OOF_TEST_REDIS_ADDR when
// set (as `make test` does), else a throwaway redis-server on a free
// loopback port. No Redis at all fails the test: it is never skipped.
package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr returns the address of a Redis for t.
func Addr(t *testing.T) string {
	t.Helper()
	if addr := os.Getenv("OOF_TEST_REDIS_ADDR"); addr != "" {
		return addr
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("no Redis: set OOF_TEST_REDIS_ADDR or install redis-server (make test does both)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return "127.0.0.1:" + strconv.Itoa(port)
}

// Client connects to Addr, waiting for a just-started server to answer.
func Client(t *testing.T) *redis.Client {
	t.Helper()
	addr := Addr(t)
	var lastErr error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c := redis.NewClient(&redis.Options{Addr: addr})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		_ = c.Close()
		lastErr = err
	}
	t.Fatalf("redis at %s: %v", addr, lastErr)
	return nil
}
