package browser

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc/metadata"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/tests/harness"
)

// serveDir serves a folder of the repository on loopback; it returns the
// page origin http://localhost:<port>.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://localhost:%d", lis.Addr().(*net.TCPAddr).Port)
}

// paddleGame creates the game the example plays, as its developer.
func paddleGame(t *testing.T, ctx context.Context, env *harness.Env) string {
	t.Helper()
	auth := authpb.NewAuthServiceClient(env.Conn)
	name := "paddle_dev_" + harness.RandomID(3)
	pass := "correct horse battery"
	r, err := auth.Register(ctx, &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, `UPDATE auth_accounts SET role = 'developer' WHERE user_id = $1`, r.GetUserId()); err != nil {
		t.Fatal(err)
	}
	login, err := auth.Login(ctx, &authpb.LoginRequest{Username: name, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	gctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+login.GetAccessToken())
	g, err := commonpb.NewGameServiceClient(env.Conn).CreateGame(gctx, &gamepb.GameCreateRequest{Name: "Paddle " + harness.RandomID(3)})
	if err != nil {
		t.Fatal(err)
	}
	return g.GetSingleGame().GetId()
}

// Two headless Chromium pages of examples/paddle play one session: each
// signs in over gRPC-Web, then plays over the WebSocket protocol only, and
// each sees the other's paddle move.
func TestBrowserPaddleOverWebSocket(t *testing.T) {
	chromium := chromiumPath(t)
	in, err := harness.InfraFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	origin := serveDir(t, filepath.Join("..", "..", "examples", "paddle"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := harness.Start(ctx, in, func(c *config.Config) {
		c.CORSAllowedOrigins = []string{origin}
		c.TrustProxyHeaders = false
	})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	game := paddleGame(t, ctx, env)
	api := "http://" + env.Addr

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(800, 640))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}

	type page struct {
		ctx           context.Context
		user, id, sid string
	}
	open := func(user string, q url.Values) page {
		t.Helper()
		pctx, cancel := chromedp.NewContext(browser) // a tab of its own
		t.Cleanup(cancel)
		q.Set("api", api)
		q.Set("user", user)
		err := chromedp.Do(pctx,
			chromedp.Navigate(origin+"/index.html?"+q.Encode()),
			chromedp.WaitVisible(chromedp.CSS(`#status[data-state="playing"], #status[data-state="error"]`)),
		)
		if err != nil {
			t.Fatalf("%s's page: %v", user, err)
		}
		got, err := chromedp.Run(pctx, chromedp.Evaluate[map[string]string](`(() => {
			const s = document.getElementById('status');
			return {text: s.textContent, id: s.dataset.userId || '', sid: s.dataset.session || ''};
		})()`))
		if err != nil || got["id"] == "" || got["sid"] == "" {
			t.Fatalf("%s's page: %v (status %q)", user, err, got["text"])
		}
		return page{ctx: pctx, user: user, id: got["id"], sid: got["sid"]}
	}
	host := open("paddle_a_"+harness.RandomID(3), url.Values{"game": {game}})
	guest := open("paddle_b_"+harness.RandomID(3), url.Values{"game": {game}, "session": {host.sid}})
	if guest.sid != host.sid {
		t.Fatalf("the guest is in %s, the host in %s", guest.sid, host.sid)
	}

	for _, m := range []struct {
		p page
		y int
	}{{host, 40}, {guest, 200}} {
		if _, err := chromedp.Run(m.p.ctx, chromedp.Evaluate[any](fmt.Sprintf("paddle.move(%d)", m.y))); err != nil {
			t.Fatal(err)
		}
	}
	// Each page sees the other's paddle where the other put it.
	sees := func(p page, other string, y int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`(paddle.players[%q] || {y: -1}).y`, other)))
			if err == nil && got == y {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s sees the other paddle at %d (%v), want %d", p.user, got, err, y)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	sees(host, guest.id, 200)
	sees(guest, host.id, 40)

	for name, p := range map[string]page{"paddle-host": host, "paddle-guest": guest} {
		shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)) // 100: PNG
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(artifactsDir(t), name+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
	}
}
