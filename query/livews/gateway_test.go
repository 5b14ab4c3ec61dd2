package livews

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/cors"
	"github.com/oof-gg/platform/pkg/middleware"
)

// neverRevoked: every login is live (the revocation store is not what
// these tests are about).
type neverRevoked struct{}

func (neverRevoked) Revoked(context.Context, string) (bool, error) { return false, nil }

// gateway serves a Gateway with real tokens and no session (so no hub or
// command is reached) and returns its ws:// base and a valid token.
func gateway(t *testing.T, lim Limits) (string, string) {
	t.Helper()
	ring, err := auth.NewKeyring(map[string][]byte{"k": []byte("0123456789abcdef0123456789abcdef")}, "k")
	if err != nil {
		t.Fatal(err)
	}
	v := auth.NewValidator(auth.NewTokenVerifier(ring, "oof", "oof.gg", time.Second, time.Now), neverRevoked{}, 0, time.Now)
	token, err := auth.NewTokenIssuer(ring, "oof", "oof.gg", time.Minute, time.Now).Issue("u1", auth.RolePlayer, "login1")
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{Validator: v, Guard: middleware.NewStreamGuard(v, time.Minute),
		Origins: cors.MustParse([]string{cors.Loopback}), Limits: lim}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { g.Close(); srv.Close() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + Path, token
}

// An idle peer that answers pings stays; one that does not (it reads
// nothing, as a vanished client) is dropped.
func TestIdlePeersArePinged(t *testing.T) {
	lim := DefaultLimits(16 << 10)
	lim.PingInterval, lim.WriteTimeout = 100*time.Millisecond, 200*time.Millisecond
	base, token := gateway(t, lim)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	alive, _, err := websocket.Dial(ctx, base+"?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alive.CloseNow()
	frames := make(chan string, 4)
	go func() { // reading answers pings
		for {
			_, b, err := alive.Read(ctx)
			if err != nil {
				close(frames)
				return
			}
			frames <- string(b)
		}
	}()
	gone, _, err := websocket.Dial(ctx, base+"?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gone.CloseNow()

	time.Sleep(time.Second)
	rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer rcancel()
	if _, _, err := gone.Read(rctx); err == nil || rctx.Err() != nil {
		t.Fatalf("a peer that never ponged: read %v, want the connection already dropped", err)
	}
	if err := alive.Write(ctx, websocket.MessageText, []byte(`{"type":"move"}`)); err != nil {
		t.Fatal(err)
	}
	if f := <-frames; !strings.Contains(f, "subscribe first") {
		t.Fatalf("the live peer got %q", f)
	}
}

// Refusals before the upgrade are HTTP statuses.
func TestUpgradeRefusals(t *testing.T) {
	base, token := gateway(t, DefaultLimits(16<<10))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, url string
		want      int
	}{
		{"no token", base, 401},
		{"bad token", base + "?token=x.y.z", 401},
		{"deeper path", base + "/a/b?token=" + token, 404},
		{"not a session id", base + "/nope?token=" + token, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := websocket.Dial(ctx, tc.url, nil)
			if err == nil {
				c.CloseNow()
			}
			if resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("got %v (%v), want HTTP %d", resp, err, tc.want)
			}
		})
	}
}
