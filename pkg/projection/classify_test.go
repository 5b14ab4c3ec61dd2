package projection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// redisReply stands for a Redis server's error reply (go-redis's own type
// is internal; any type with a RedisError method is one).
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

func pgErr(code string) error {
	return fmt.Errorf("apply oof.events.v1.SessionUpdated at t/0@1: sessions projector: %w",
		&pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"})
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

func TestIsTransient(t *testing.T) {
	addr := closedPort(t)
	_, dialErr := net.DialTimeout("tcp", addr, time.Second)
	_, pgConnectErr := pgx.Connect(context.Background(), "postgres://oof@"+addr+"/oof?sslmode=disable&connect_timeout=2")
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	_, pgTimeoutErr := pgx.Connect(expired, "postgres://oof@"+addr+"/oof?sslmode=disable")
	canceled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if dialErr == nil || pgConnectErr == nil || pgTimeoutErr == nil {
		t.Fatalf("want real failures: dial %v, connect %v, expired connect %v", dialErr, pgConnectErr, pgTimeoutErr)
	}
	panicked := protect(func() error { panic(canceled.Err()) })

	cases := []struct {
		name string
		err  error
		want bool
	}{
		// Infrastructure: retried for as long as it takes.
		{"serialization failure", pgErr("40001"), true},
		{"deadlock", pgErr("40P01"), true},
		{"lock timeout", pgErr("55P03"), true},
		{"statement timeout / query canceled", pgErr("57014"), true},
		{"admin shutdown", pgErr("57P01"), true},
		{"crash shutdown", pgErr("57P02"), true},
		{"cannot connect now", pgErr("57P03"), true},
		{"connection failure", pgErr("08006"), true},
		{"connection does not exist", pgErr("08003"), true},
		{"too many connections", pgErr("53300"), true},
		{"out of memory", pgErr("53200"), true},
		{"disk full", pgErr("53100"), true},
		{"io error", pgErr("58030"), true},
		{"read only (failover to a standby)", pgErr("25006"), true},
		{"undefined table (code ahead of its migration)", pgErr("42P01"), true},
		{"internal error", pgErr("XX000"), true},
		{"context canceled", fmt.Errorf("apply: %w", canceled.Err()), true},
		{"context deadline", fmt.Errorf("apply: %w", expired.Err()), true},
		{"connection refused (net.Dial)", dialErr, true},
		{"connection refused (pgx connect)", pgConnectErr, true},
		{"pgx connect timeout", pgTimeoutErr, true},
		{"pgx conn closed", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), true},
		{"econnreset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected eof", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"redis closed", fmt.Errorf("mark pending: %w", redis.ErrClosed), true},
		{"redis pool timeout", redis.ErrPoolTimeout, true},
		{"redis loading", redisReply("LOADING Redis is loading the dataset in memory"), true},
		{"redis readonly replica", fmt.Errorf("mirror: %w", redisReply("READONLY You can't write against a read only replica.")), true},
		{"redis oom", redisReply("OOM command not allowed when used memory > 'maxmemory'."), true},

		// Deterministic: retried a few times, then dead-lettered.
		{"not null violation", pgErr("23502"), false},
		{"unique violation", pgErr("23505"), false},
		{"foreign key violation", pgErr("23503"), false},
		{"check violation", pgErr("23514"), false},
		{"invalid uuid text", pgErr("22P02"), false},
		{"string too long", pgErr("22001"), false},
		{"numeric out of range", pgErr("22003"), false},
		{"statement in aborted transaction (a swallowed error)", pgErr("25P02"), false},
		{"projector bug, plain error", errors.New("sessions projector: snapshot has no id"), false},
		{"panic", panicked, false},
		{"redis wrong type", redisReply("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"empty sqlstate", pgErr(""), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsTransient(tc.err); got != tc.want {
				t.Fatalf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if IsTransient(nil) {
		t.Fatal("nil is not a failure")
	}
}

func TestProtectTurnsPanicsIntoErrors(t *testing.T) {
	cases := []struct {
		name    string
		apply   func() error
		message string
	}{
		{"value", func() error { panic("boom") }, "panic in Apply: boom"},
		{"runtime error", func() error {
			var m map[string]int
			m["x"] = 1
			return nil
		}, "assignment to entry in nil map"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := protect(tc.apply)
			var p *PanicError
			if !errors.As(err, &p) {
				t.Fatalf("protect returned %v, want a *PanicError", err)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(string(p.Stack), "goroutine") {
				t.Fatalf("error %q / stack %q", err, p.Stack)
			}
			if IsTransient(err) {
				t.Fatal("a panic must count as deterministic")
			}
		})
	}
	want := errors.New("plain")
	if err := protect(func() error { return want }); err != want {
		t.Fatalf("protect changed a plain error: %v", err)
	}
}
