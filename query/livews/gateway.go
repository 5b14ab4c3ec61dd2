// Package livews serves the oof web SDK's WebSocket protocol
// (../shared/oof-sdk-socket-protocol.md, docs/realtime.md) on the stream
// target: a thin gateway like GameService.StreamEvents, publishing what a
// member sends through command/live and sending the session's events from
// the query/live hub. One socket is one member in one session at a time.
package livews

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc/codes"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/cors"
	"github.com/oof-gg/platform/pkg/middleware"
	querylive "github.com/oof-gg/platform/query/live"
)

// Path is where the gateway is mounted: sockets open
// <Path>/<session id>?token=<access JWT>[&after=<event id>], or <Path>
// alone and subscribe with a frame. The SDK's socketUrl is therefore
// ws(s)://<host>/ws.
const Path = "/ws"

// Gateway is the WebSocket endpoint.
type Gateway struct {
	Hub       *querylive.Hub
	Publisher querylive.Publisher
	// Hook, when set, is told of each socket's subscriptions (presence),
	// as the gRPC streams tell it.
	Hook      querylive.ConnHook
	Validator middleware.TokenValidator
	// Guard ends sockets at token expiry or revocation, like gRPC streams.
	Guard   *middleware.StreamGuard
	Origins *cors.Policy
	Limits  Limits
	Metrics *Metrics // optional
	Log     *slog.Logger

	mu      sync.Mutex
	closed  bool
	sockets map[*socket]struct{}
}

// Limits bound what one socket may do.
type Limits struct {
	// MaxFrameBytes: a larger text frame gets an error frame (the event
	// size limit, OOF_LIVE_MAX_EVENT_BYTES). HardFrameBytes: a larger one
	// closes the socket (1009) without being read.
	MaxFrameBytes  int
	HardFrameBytes int64
	// Strikes refused frames (malformed, oversized, rate-limited, refused
	// by the command) within StrikeWindow close the socket with 1008.
	Strikes      int
	StrikeWindow time.Duration
	// WriteTimeout: a client that takes longer to take one frame is closed.
	WriteTimeout time.Duration
	// PingInterval: an idle socket is pinged this often (keeping proxies
	// and NATs from dropping it); no pong within WriteTimeout drops it.
	PingInterval time.Duration
}

// DefaultLimits are the limits for events of at most maxEventBytes.
func DefaultLimits(maxEventBytes int) Limits {
	return Limits{MaxFrameBytes: maxEventBytes, HardFrameBytes: 1 << 20, Strikes: 20,
		StrikeWindow: 10 * time.Second, WriteTimeout: 10 * time.Second, PingInterval: 30 * time.Second}
}

// ServeHTTP checks the caller before upgrading: a refused origin is 403, a
// missing/bad/expired token 401, a session the caller may not join 403
// (404 when there is none), a resume point out of the window 410; only
// then does the connection become a WebSocket.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) && !g.Origins.Allowed(origin) {
		g.Metrics.refusedWith(http.StatusForbidden)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this endpoint speaks WebSocket only", http.StatusUpgradeRequired)
		return
	}
	sessionID := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, Path), "/")
	if strings.Contains(sessionID, "/") {
		http.NotFound(w, r)
		return
	}
	token := tokenOf(r)
	if token == "" {
		g.refuse(w, apperr.Unauthenticated("missing access token (?token=)"))
		return
	}
	if len(token) > auth.MaxAccessTokenBytes {
		g.refuse(w, apperr.Unauthenticated("access token too long"))
		return
	}
	caller, err := g.Validator.Validate(r.Context(), token)
	if errors.Is(err, auth.ErrInvalidToken) {
		g.refuse(w, apperr.Unauthenticated("invalid or expired access token"))
		return
	}
	if err != nil {
		g.refuse(w, apperr.Unavailable("cannot verify access token right now", err))
		return
	}
	after := r.URL.Query().Get("after")
	s := &socket{g: g, caller: caller, after: after}
	if sessionID != "" {
		// Subscribed before the upgrade, so the client sees every event
		// after its "subscribed" frame and a refusal is an HTTP status.
		if err := s.subscribe(r.Context(), sessionID); err != nil {
			g.refuse(w, err)
			return
		}
	}
	// The origin was checked above, against the platform's own policy.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.leave()
		return // Accept has answered
	}
	ws.SetReadLimit(g.Limits.HardFrameBytes)
	// A hijacked connection's request context does not end with the
	// server: the socket's own does, at Close.
	s.ctx, s.cancel = context.WithCancelCause(background(r.Context()))
	if !g.track(s) {
		s.leave()
		_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer g.untrack(s)
	g.Metrics.opened()
	s.run(ws, token)
	g.Metrics.ended(int(s.code))
}

// Close ends every open socket with 1001 (the server is going away) and
// refuses new ones; the HTTP server's shutdown does not reach hijacked
// connections.
func (g *Gateway) Close() {
	g.mu.Lock()
	g.closed = true
	all := make([]*socket, 0, len(g.sockets))
	for s := range g.sockets {
		all = append(all, s)
	}
	g.mu.Unlock()
	for _, s := range all {
		s.shutdown()
	}
}

func (g *Gateway) track(s *socket) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if g.sockets == nil {
		g.sockets = map[*socket]struct{}{}
	}
	g.sockets[s] = struct{}{}
	return true
}

func (g *Gateway) untrack(s *socket) {
	g.mu.Lock()
	delete(g.sockets, s)
	g.mu.Unlock()
}

// tokenOf is ?token= (what browsers can send), else a bearer header.
func tokenOf(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "bearer") {
		return strings.TrimSpace(t)
	}
	return ""
}

// refuse answers a request that is not upgraded, with the HTTP status of
// the error's gRPC code.
func (g *Gateway) refuse(w http.ResponseWriter, err error) {
	st := apperr.ToStatus(err)
	code := http.StatusInternalServerError
	switch st.Code() {
	case codes.InvalidArgument:
		code = http.StatusBadRequest
	case codes.Unauthenticated:
		code = http.StatusUnauthorized
	case codes.PermissionDenied:
		code = http.StatusForbidden
	case codes.NotFound:
		code = http.StatusNotFound
	case codes.OutOfRange:
		code = http.StatusGone
	case codes.FailedPrecondition:
		code = http.StatusConflict
	case codes.ResourceExhausted:
		code = http.StatusTooManyRequests
	case codes.Unavailable:
		code = http.StatusServiceUnavailable
	}
	g.Metrics.refusedWith(code)
	http.Error(w, st.Message(), code)
}

// sameOrigin: a page served from the API's own address is not a
// cross-origin caller (as for gRPC-Web).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && host != "" && strings.EqualFold(u.Host, host)
}

// background is a context for work that must not end with a request.
func background(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
