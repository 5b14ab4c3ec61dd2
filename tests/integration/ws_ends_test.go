package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/config"
)

// A socket ends with a reason: 4401 at its token's expiry or when its
// login is revoked (the gRPC streams' guard), 1001 when the server shuts
// down.
func TestWSSocketEnds(t *testing.T) {
	ctx := testCtx(t)
	sp := startStreamPlatform(t, ctx) // issues short-lived tokens
	addr := startStreamAddr(t, ctx, func(c *config.Config) { c.StreamAuthRecheck = 100 * time.Millisecond })
	auth := authpb.NewAuthServiceClient(sp.conn)
	newAccount := func(prefix string) (actor, string) {
		name := uniqueName(prefix)
		r, err := auth.Register(asNewClient(ctx), &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return actor{id: r.GetUserId(), token: r.GetAccessToken()}, r.GetRefreshToken()
	}

	t.Run("expiry", func(t *testing.T) {
		a, _ := newAccount("ws_exp")
		w := dialWS(t, ctx, a, wsOpts{addr: addr})
		start := time.Now()
		code, reason := w.closedWith(t, streamTokenTTL+3*time.Second)
		if code != 4401 || reason != "access token expired" {
			t.Fatalf("closed with %d %q after %v, want 4401 at expiry", code, reason, time.Since(start))
		}
	})

	t.Run("revocation", func(t *testing.T) {
		a, refresh := newAccount("ws_rev")
		w := dialWS(t, ctx, a, wsOpts{addr: addr})
		if _, err := auth.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: refresh}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(streamRefreshGrace + 100*time.Millisecond)
		if _, err := auth.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: refresh}); err == nil {
			t.Fatal("a spent refresh token was accepted after the grace window")
		}
		code, reason := w.closedWith(t, 2*time.Second)
		if code != 4401 || reason != "access token no longer valid" {
			t.Fatalf("closed with %d %q, want 4401 on revocation", code, reason)
		}
	})

	t.Run("shutdown", func(t *testing.T) {
		ls := newLiveSession(t, ctx, 1)
		run := startStreamRun(t, ctx, nil)
		w := dialWS(t, ctx, ls.members[0], wsOpts{addr: run.GRPCAddr, session: ls.id})
		go run.Stop()
		if code, reason := w.closedWith(t, 10*time.Second); code != websocket.StatusGoingAway {
			t.Fatalf("closed with %d %q, want 1001", code, reason)
		}
	})
}

// A member that takes no frames is closed with 1013 once its buffer
// fills; the others keep getting every event at once.
func TestWSSlowMemberIsDropped(t *testing.T) {
	ctx := testCtx(t)
	ls := newLiveSession(t, ctx, 2)
	// A small buffer per member (still above what one hub read hands
	// over at once), and room to send more than the kernel's
	// socket buffers hold (so the slow member's writes block).
	run := startStreamRun(t, ctx, func(c *config.Config) { c.Live.Buffer, c.Live.Rate, c.Live.Burst = 64, 10000, 10000 })
	addr := run.GRPCAddr
	slow := dialWS(t, ctx, ls.members[0], wsOpts{addr: addr, session: ls.id, slow: true})
	fast := dialWS(t, ctx, ls.members[1], wsOpts{addr: addr, session: ls.id})
	big := strings.Repeat("x", env.Cfg.Live.MaxEventBytes-512)
	n := 400
	for j := range n {
		fast.send(t, ctx, map[string]any{"type": "bulk", "id": fmt.Sprintf("bulk-%d", j), "data": big})
	}
	if got := fast.collect(t, n, func(f wsFrame) bool { return f.Type == "bulk" }); len(got) != n {
		t.Fatalf("the fast member got %d of %d", len(got), n)
	}
	slow.start()
	if code, reason := slow.closedWith(t, 10*time.Second); code != websocket.StatusTryAgainLater || !strings.Contains(reason, "after=") {
		t.Fatalf("the slow member was closed with %d %q, want 1013", code, reason)
	}
	// The server counts the socket once its close handshake is over.
	want := []string{`oof_ws_closed_total{code="1013"} 1`, "oof_ws_open_sockets 1"}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		body, missing := scrape(t, ctx, run.AdminAddr), ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s", missing)
		}
	}
}
