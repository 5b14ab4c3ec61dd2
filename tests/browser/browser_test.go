// Package browser drives a real browser (headless Chromium from Debian's
// `chromium` package) through a small page that registers and logs in over
// gRPC-Web against a real platform, and screenshots the page. It is its own
// module so the browser driver stays out of the service's go.mod.
package browser

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/tests/harness"
)

//go:embed page
var page embed.FS

// chromiumPath finds the browser. Without one the test is skipped on a
// developer machine, but fails under CI (CI set): there a missing browser
// means the check silently stopped running.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (install it: apt-get install -y chromium, or scripts/infra.sh install-browser)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so this is a failure")
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where screenshots go: $OOF_TEST_ARTIFACTS/browser, by
// default .artifacts/browser at the repository root (gitignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("OOF_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join("..", "..", ".artifacts")
	}
	dir := filepath.Join(base, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// servePage serves the page on loopback and returns its port.
func servePage(t *testing.T) int {
	t.Helper()
	sub, err := fs.Sub(page, "page")
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.FS(sub)), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return lis.Addr().(*net.TCPAddr).Port
}

type pageResult struct {
	state, text, userID, accessToken string
}

// runPage opens pageURL in headless Chromium, waits for the page to finish
// and saves a screenshot as name.png.
func runPage(t *testing.T, chromium, pageURL, name string) pageResult {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // containers run the tests as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1000, 700),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	err := chromedp.Do(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`#status[data-state="ok"], #status[data-state="error"]`)),
	)
	if err != nil {
		t.Fatalf("chromium on %s: %v", pageURL, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`(() => {
		const s = document.getElementById('status');
		return {state: s.dataset.state, text: s.textContent, userId: s.dataset.userId || '', accessToken: s.dataset.accessToken || ''};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	r := pageResult{state: got["state"], text: got["text"], userID: got["userId"], accessToken: got["accessToken"]}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG (lower qualities are JPEG)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(artifactsDir(t), name+".png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (page says %s: %q)", file, r.state, r.text)
	return r
}

// A page served from an allowed origin registers and logs in over gRPC-Web
// in a real browser (binary and text, the published clients' default), and
// the token it gets is valid; the same page from an origin that is not
// allowed is stopped by the browser's CORS check and creates nothing.
func TestBrowserRegisterAndLogin(t *testing.T) {
	chromium := chromiumPath(t)
	in, err := harness.InfraFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	pagePort := servePage(t)
	allowed := fmt.Sprintf("http://localhost:%d", pagePort)
	refused := fmt.Sprintf("http://127.0.0.1:%d", pagePort) // same page, another origin
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := harness.Start(ctx, in, func(c *config.Config) {
		c.CORSAllowedOrigins = []string{allowed}
		c.TrustProxyHeaders = false // the browser is the client
	})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	api := "http://" + env.Addr
	auth := authpb.NewAuthServiceClient(env.Conn)

	open := func(origin, user, format string) string {
		return origin + "/index.html?" + url.Values{"api": {api}, "user": {user}, "format": {format}}.Encode()
	}
	for _, format := range []string{"binary", "text"} {
		t.Run("allowed origin, "+format, func(t *testing.T) {
			user := "browser_" + format + "_" + harness.RandomID(3)
			r := runPage(t, chromium, open(allowed, user, format), "register-login-"+format)
			if r.state != "ok" || !strings.Contains(r.text, user) {
				t.Fatalf("page shows %s: %q", r.state, r.text)
			}
			v, err := auth.ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: r.accessToken})
			if err != nil || !v.GetIsValid() || v.GetUserId() != r.userID {
				t.Fatalf("the browser's token: %v, %v (user %s)", v, err, r.userID)
			}
		})
	}
	t.Run("refused origin", func(t *testing.T) {
		user := "browser_refused_" + harness.RandomID(3)
		r := runPage(t, chromium, open(refused, user, "binary"), "refused-origin")
		if r.state != "error" || !strings.Contains(r.text, "Failed to fetch") {
			t.Fatalf("page shows %s: %q; want the browser to refuse the call", r.state, r.text)
		}
		var n int
		if err := env.Pool.QueryRow(ctx, "SELECT count(*) FROM auth_accounts WHERE username = $1", user).Scan(&n); err != nil || n != 0 {
			t.Fatalf("accounts for the refused page: %d, %v", n, err)
		}
	})
}
