package middleware

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/auth"
)

// StreamGuard keeps a stream's caller authenticated for as long as the
// stream is open. The Authenticator checks the token once, when the stream
// opens; a stream may stay open far longer than the token lives or than its
// login stays unrevoked. The guard therefore gives the handler a context that
// ends:
//
//   - at the token's expiry, with UNAUTHENTICATED "access token expired";
//   - when a re-check (every interval, or at once on RecheckNow, the hook a
//     revocation notice calls) finds the token no longer valid (its login
//     revoked), with UNAUTHENTICATED;
//   - when re-checks have failed maxOutages times in a row because the
//     revocation store cannot answer, with UNAVAILABLE: a short blip does not
//     drop every stream, a long outage does not leave revocation unenforced.
//
// The stream's RecvMsg returns that status at once, even while it waits for
// a message, so a handler blocked in Recv ends too; the RPC ends with the
// status. The client reconnects with a fresh token.
type StreamGuard struct {
	validator  TokenValidator
	every      time.Duration
	maxOutages int

	mu     sync.Mutex
	notice chan struct{} // closed (and replaced) by RecheckNow
}

// NewStreamGuard re-validates open streams' tokens every interval (15 s if
// not positive).
func NewStreamGuard(v TokenValidator, every time.Duration) *StreamGuard {
	if every <= 0 {
		every = 15 * time.Second
	}
	return &StreamGuard{validator: v, every: every, maxOutages: 3, notice: make(chan struct{})}
}

// RecheckNow makes every open stream re-validate its token now instead of
// at its next interval: call it when a login is revoked.
func (g *StreamGuard) RecheckNow() {
	g.mu.Lock()
	close(g.notice)
	g.notice = make(chan struct{})
	g.mu.Unlock()
}

func (g *StreamGuard) noticeCh() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.notice
}

// streamEnded is the cause the guard cancels a stream's context with.
type streamEnded struct{ st *status.Status }

func (e *streamEnded) Error() string              { return e.st.Err().Error() }
func (e *streamEnded) GRPCStatus() *status.Status { return e.st }

// Stream returns the interceptor. It runs inside the Authenticator: a stream
// without a principal (a public method) is not watched.
func (g *StreamGuard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if _, ok := auth.PrincipalFrom(ss.Context()); !ok {
			return h(srv, ss)
		}
		token, _ := BearerToken(ss.Context())
		ctx, cancel := context.WithCancelCause(ss.Context())
		watching := make(chan struct{})
		go func() {
			defer close(watching)
			g.watch(ctx, cancel, token)
		}()
		err := h(srv, &guardedStream{ServerStream: ss, ctx: ctx})
		cancel(nil)
		<-watching
		var ended *streamEnded
		if errors.As(context.Cause(ctx), &ended) {
			return ended.st.Err()
		}
		return err
	}
}

func (g *StreamGuard) watch(ctx context.Context, end context.CancelCauseFunc, token string) {
	var expiry <-chan time.Time
	exp, hasExp := tokenExpiry(token)
	if hasExp {
		t := time.NewTimer(time.Until(exp))
		defer t.Stop()
		expiry = t.C
	}
	tick := time.NewTicker(g.every)
	defer tick.Stop()
	outages := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry:
			end(&streamEnded{status.New(codes.Unauthenticated, "access token expired")})
			return
		case <-tick.C:
		case <-g.noticeCh():
		}
		_, err := g.validator.Validate(ctx, token)
		switch {
		case err == nil:
			outages = 0
		case errors.Is(err, auth.ErrInvalidToken):
			// A re-check that lands at the expiry, just before its timer
			// fires, is the expiry too.
			if hasExp && !time.Now().Before(exp) {
				end(&streamEnded{status.New(codes.Unauthenticated, "access token expired")})
				return
			}
			end(&streamEnded{status.New(codes.Unauthenticated, "access token no longer valid")})
			return
		case ctx.Err() != nil:
			return
		default:
			if outages++; outages >= g.maxOutages {
				end(&streamEnded{status.New(codes.Unavailable, "cannot re-verify access token right now")})
				return
			}
		}
	}
}

// tokenExpiry reads the exp claim of a token the Authenticator has already
// verified (so it is not verified again here); the periodic re-check is
// what decides validity, the expiry only makes the end exact.
func tokenExpiry(token string) (time.Time, bool) {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil || claims.ExpiresAt == nil {
		return time.Time{}, false
	}
	return claims.ExpiresAt.Time, true
}

// guardedStream gives the handler the guarded context and makes its stream
// operations fail with the guard's status once it has ended the stream.
type guardedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *guardedStream) Context() context.Context { return s.ctx }

func (s *guardedStream) ended() error {
	var ended *streamEnded
	if errors.As(context.Cause(s.ctx), &ended) {
		return ended.st.Err()
	}
	return nil
}

// RecvMsg waits for a message or the guard, whichever comes first. After
// the guard, the receive still pending ends with the RPC; the handler is
// never given a second one to run beside it.
func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ended(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.ServerStream.RecvMsg(m) }()
	select {
	case err := <-done:
		return err
	case <-s.ctx.Done():
		if err := s.ended(); err != nil {
			return err
		}
		return <-done // the RPC itself ended: the receive returns promptly
	}
}

func (s *guardedStream) SendMsg(m any) error {
	if err := s.ended(); err != nil {
		return err
	}
	return s.ServerStream.SendMsg(m)
}

// Watch guards a long-lived connection that is not a gRPC stream (the
// WebSocket gateway, query/livews) exactly as Stream guards a stream: the
// returned context ends at the token's expiry, revocation or a long
// outage, and Ended says why. Call stop when the connection ends.
func (g *StreamGuard) Watch(ctx context.Context, token string) (guarded context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		g.watch(ctx, cancel, token)
	}()
	return ctx, func() { cancel(nil); <-watching }
}

// Ended is the status the guard ended a watched context with, or nil when
// it did not end it.
func Ended(ctx context.Context) *status.Status {
	var ended *streamEnded
	if errors.As(context.Cause(ctx), &ended) {
		return ended.st
	}
	return nil
}
