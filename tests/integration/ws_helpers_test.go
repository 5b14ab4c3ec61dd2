package integration

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/tests/harness"
)

// wsFrame is a frame of the web SDK's socket protocol as a client sees it.
type wsFrame struct {
	Type       string          `json:"type"`
	InstanceID string          `json:"instance_id,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Error      string          `json:"error,omitempty"`
	Code       string          `json:"code,omitempty"`
	Ref        string          `json:"ref,omitempty"`
	ID         string          `json:"id,omitempty"`
	PlayerID   string          `json:"player_id,omitempty"`
}

// wsConn is one member's socket; frames arrive on in.
type wsConn struct {
	c     *websocket.Conn
	in    chan wsFrame
	ended chan error
	who   actor
	gate  chan struct{} // closed when the reader may start
}

// start lets a slow socket's reader go.
func (w *wsConn) start() { close(w.gate) }

// smallBufferDialer dials with a receive buffer of a few KiB, so the
// server's writes to a client that reads nothing block soon.
func smallBufferDialer() *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		if err != nil {
			return err
		}
		return serr
	}}
}

type wsOpts struct {
	addr    string // default: the shared platform
	session string // path segment; empty: subscribe later
	after   string
	token   string // default: the actor's
	origin  string
	// slow: a tiny receive buffer, and nothing read until start.
	slow bool
}

func wsURL(o wsOpts, a actor) string {
	addr := o.addr
	if addr == "" {
		addr = env.Addr
	}
	token := o.token
	if token == "" {
		token = a.token
	}
	q := url.Values{"token": {token}}
	if o.after != "" {
		q.Set("after", o.after)
	}
	u := "ws://" + addr + "/ws"
	if o.session != "" {
		u += "/" + o.session
	}
	return u + "?" + q.Encode()
}

// tryDialWS opens a socket; on a refused upgrade it returns the HTTP
// status.
func tryDialWS(ctx context.Context, a actor, o wsOpts) (*wsConn, int, error) {
	h := http.Header{}
	if o.origin != "" {
		h.Set("Origin", o.origin)
	}
	opts := &websocket.DialOptions{HTTPHeader: h}
	gate := make(chan struct{})
	if o.slow {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: smallBufferDialer().DialContext}}
	} else {
		close(gate)
	}
	c, resp, err := websocket.Dial(ctx, wsURL(o, a), opts)
	if err != nil {
		if resp != nil {
			return nil, resp.StatusCode, err
		}
		return nil, 0, err
	}
	c.SetReadLimit(1 << 20)
	w := &wsConn{c: c, in: make(chan wsFrame, 4096), ended: make(chan error, 1), who: a, gate: gate}
	go func() {
		<-gate
		for {
			var f wsFrame
			_, b, err := c.Read(context.Background())
			if err != nil {
				w.ended <- err
				return
			}
			if err := json.Unmarshal(b, &f); err != nil {
				w.ended <- err
				return
			}
			w.in <- f
		}
	}()
	return w, http.StatusSwitchingProtocols, nil
}

// dialWS opens a's socket into o.session and waits for "subscribed".
func dialWS(t *testing.T, ctx context.Context, a actor, o wsOpts) *wsConn {
	t.Helper()
	w, code, err := tryDialWS(ctx, a, o)
	if err != nil {
		t.Fatalf("dial %s: HTTP %d: %v", a.username, code, err)
	}
	t.Cleanup(func() { _ = w.c.CloseNow() })
	if o.session != "" && !o.slow {
		if f := w.next(t); f.Type != "subscribed" || f.InstanceID != o.session {
			t.Fatalf("first frame %+v, want subscribed to %s", f, o.session)
		}
	}
	return w
}

func (w *wsConn) sendRaw(t *testing.T, ctx context.Context, b string) {
	t.Helper()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(b)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (w *wsConn) send(t *testing.T, ctx context.Context, f any) {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	w.sendRaw(t, ctx, string(b))
}

// next returns the next frame that is not a presence change (presence
// frames are tested on their own: nextAny).
func (w *wsConn) next(t *testing.T) wsFrame {
	t.Helper()
	for {
		if f := w.nextAny(t); !strings.HasPrefix(f.Type, "presence.") {
			return f
		}
	}
}

// nextAny returns the next frame, whatever it is.
func (w *wsConn) nextAny(t *testing.T) wsFrame {
	t.Helper()
	select {
	case f := <-w.in:
		return f
	case err := <-w.ended:
		t.Fatalf("%s's socket ended: %v", w.who.username, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s got no frame within 10s", w.who.username)
	}
	return wsFrame{}
}

// collect reads n frames that keep matches (skipping others).
func (w *wsConn) collect(t *testing.T, n int, keep func(wsFrame) bool) []wsFrame {
	t.Helper()
	var out []wsFrame
	for len(out) < n {
		if f := w.next(t); keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// closedWith waits for the socket to be closed and returns the close code.
func (w *wsConn) closedWith(t *testing.T, within time.Duration) (websocket.StatusCode, string) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case <-w.in:
		case err := <-w.ended:
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		case <-deadline:
			t.Fatalf("%s's socket still open after %v", w.who.username, within)
		}
	}
}

func frameIDs(fs []wsFrame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

// startStreamAddr runs another stream-target instance and returns its
// address (gRPC and WebSocket).
func startStreamAddr(t *testing.T, ctx context.Context, edit func(*config.Config)) string {
	t.Helper()
	return startStreamRun(t, ctx, edit).GRPCAddr
}

// startStreamRun is startStreamAddr for tests that stop it themselves.
func startStreamRun(t *testing.T, ctx context.Context, edit func(*config.Config)) harness.Running {
	t.Helper()
	cfg := env.Cfg
	if edit != nil {
		edit(&cfg)
	}
	run, err := env.RunPlatform(ctx, cfg, routing.TargetStream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Stop)
	return run
}
