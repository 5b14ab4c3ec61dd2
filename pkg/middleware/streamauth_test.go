package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/auth"
)

// switchValidator answers what the test currently says, from any goroutine.
type switchValidator struct {
	mu     sync.Mutex
	answer error // nil = valid
	calls  int
	// script, when set, is consumed first: one answer per call.
	script []error
}

func (v *switchValidator) set(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.answer = err
}

func (v *switchValidator) Validate(context.Context, string) (auth.Principal, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	err := v.answer
	if len(v.script) > 0 {
		err, v.script = v.script[0], v.script[1:]
	}
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{UserID: "u-1"}, nil
}

func (v *switchValidator) callCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls
}

// tokenExpiringIn is a signed JWT whose exp is d from now (whole seconds,
// as JWTs carry it).
func tokenExpiringIn(t *testing.T, d time.Duration) (string, time.Time) {
	t.Helper()
	exp := jwt.NewNumericDate(time.Now().Add(d))
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{ExpiresAt: exp}).SignedString([]byte("test-key"))
	if err != nil {
		t.Fatal(err)
	}
	return tok, exp.Time
}

// blockedStream is a stream whose client never sends: RecvMsg waits until
// the test ends (like a real receive that only the RPC's end interrupts).
type blockedStream struct {
	grpc.ServerStream
	ctx     context.Context
	release chan struct{}
}

func (s *blockedStream) Context() context.Context { return s.ctx }
func (s *blockedStream) RecvMsg(any) error        { <-s.release; return io.EOF }
func (s *blockedStream) SendMsg(any) error        { return nil }

func openStream(t *testing.T, token string, withPrincipal bool) *blockedStream {
	t.Helper()
	ctx := incoming("authorization", "Bearer "+token)
	if withPrincipal {
		ctx = auth.WithPrincipal(ctx, auth.Principal{UserID: "u-1"})
	}
	s := &blockedStream{ctx: ctx, release: make(chan struct{})}
	t.Cleanup(func() { close(s.release) })
	return s
}

type streamResult struct {
	err     error // what the interceptor returned
	recvErr error // what the handler's Recv saw
	ctxErr  error // the handler's context when Recv returned
	after   time.Duration
}

// runGuarded runs a handler that waits in RecvMsg, like a subscriber.
func runGuarded(g *StreamGuard, ss grpc.ServerStream) <-chan streamResult {
	out := make(chan streamResult, 1)
	start := time.Now()
	go func() {
		var r streamResult
		r.err = g.Stream()(nil, ss, streamInfo, func(_ any, s grpc.ServerStream) error {
			r.recvErr = s.RecvMsg(nil)
			r.ctxErr = s.Context().Err()
			return r.recvErr
		})
		r.after = time.Since(start)
		out <- r
	}()
	return out
}

func wait(t *testing.T, c <-chan streamResult, within time.Duration) streamResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(within):
		t.Fatalf("stream still open after %v", within)
		return streamResult{}
	}
}

func wantEnded(t *testing.T, r streamResult, code codes.Code, msg string) {
	t.Helper()
	if st := status.Convert(r.err); st.Code() != code || st.Message() != msg {
		t.Fatalf("stream ended with %v, want %v %q", r.err, code, msg)
	}
	if status.Code(r.recvErr) != code {
		t.Fatalf("the handler's waiting Recv returned %v, want %v", r.recvErr, code)
	}
	if r.ctxErr == nil {
		t.Fatal("the handler's context was not ended")
	}
}

func TestStreamGuardEndsAtExpiry(t *testing.T) {
	v := &switchValidator{}
	tok, exp := tokenExpiringIn(t, 1500*time.Millisecond)
	r := wait(t, runGuarded(NewStreamGuard(v, time.Hour), openStream(t, tok, true)), 5*time.Second)
	wantEnded(t, r, codes.Unauthenticated, "access token expired")
	if late := time.Since(exp); late < 0 || late > time.Second {
		t.Fatalf("ended %v after the token's expiry, want at it", late)
	}
}

func TestStreamGuardRevocation(t *testing.T) {
	revoked := fmt.Errorf("%w: login revoked", auth.ErrInvalidToken)
	t.Run("notice rechecks at once", func(t *testing.T) {
		v := &switchValidator{}
		g := NewStreamGuard(v, time.Hour)
		tok, _ := tokenExpiringIn(t, time.Hour)
		done := runGuarded(g, openStream(t, tok, true))
		time.Sleep(50 * time.Millisecond)
		g.RecheckNow() // still valid: the stream stays
		time.Sleep(50 * time.Millisecond)
		select {
		case r := <-done:
			t.Fatalf("a valid token's stream ended: %v", r.err)
		default:
		}
		v.set(revoked)
		g.RecheckNow()
		wantEnded(t, wait(t, done, time.Second), codes.Unauthenticated, "access token no longer valid")
	})
	t.Run("periodic recheck", func(t *testing.T) {
		v := &switchValidator{}
		tok, _ := tokenExpiringIn(t, time.Hour)
		done := runGuarded(NewStreamGuard(v, 30*time.Millisecond), openStream(t, tok, true))
		time.Sleep(100 * time.Millisecond)
		if v.callCount() == 0 {
			t.Fatal("no re-check within three intervals")
		}
		v.set(revoked)
		wantEnded(t, wait(t, done, time.Second), codes.Unauthenticated, "access token no longer valid")
	})
}

func TestStreamGuardOutages(t *testing.T) {
	outage := errors.New("redis: i/o timeout")
	t.Run("a blip is tolerated", func(t *testing.T) {
		v := &switchValidator{script: []error{outage, outage, nil, outage, outage, nil}}
		tok, _ := tokenExpiringIn(t, time.Hour)
		done := runGuarded(NewStreamGuard(v, 10*time.Millisecond), openStream(t, tok, true))
		time.Sleep(150 * time.Millisecond)
		select {
		case r := <-done:
			t.Fatalf("stream ended on two failed re-checks in a row: %v", r.err)
		default:
		}
	})
	t.Run("a lasting outage ends the stream", func(t *testing.T) {
		v := &switchValidator{answer: outage}
		tok, _ := tokenExpiringIn(t, time.Hour)
		r := wait(t, runGuarded(NewStreamGuard(v, 10*time.Millisecond), openStream(t, tok, true)), time.Second)
		wantEnded(t, r, codes.Unavailable, "cannot re-verify access token right now")
		if n := v.callCount(); n != 3 {
			t.Fatalf("ended after %d failed re-checks, want 3", n)
		}
	})
}

func TestStreamGuardLeavesOthersAlone(t *testing.T) {
	t.Run("public stream is not watched", func(t *testing.T) {
		v := &switchValidator{answer: auth.ErrInvalidToken}
		ss := openStream(t, "not-a-jwt", false)
		var got grpc.ServerStream
		err := NewStreamGuard(v, time.Millisecond).Stream()(nil, ss, streamInfo, func(_ any, s grpc.ServerStream) error {
			got = s
			time.Sleep(20 * time.Millisecond)
			return nil
		})
		if err != nil || got != ss || v.callCount() != 0 {
			t.Fatalf("public stream: err %v, wrapped %v, %d validations; want untouched", err, got != ss, v.callCount())
		}
	})
	t.Run("handler's own end passes through", func(t *testing.T) {
		v := &switchValidator{}
		tok, _ := tokenExpiringIn(t, time.Hour)
		g := NewStreamGuard(v, 5*time.Millisecond)
		want := status.Error(codes.NotFound, "no such session")
		err := g.Stream()(nil, openStream(t, tok, true), streamInfo, func(any, grpc.ServerStream) error { return want })
		if err != want {
			t.Fatalf("err = %v, want the handler's %v", err, want)
		}
		n := v.callCount()
		time.Sleep(30 * time.Millisecond)
		if v.callCount() != n {
			t.Fatal("the watcher kept re-checking after the stream ended")
		}
	})
}
