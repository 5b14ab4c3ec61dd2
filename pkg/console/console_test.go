package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/oof-gg/platform/pkg/console"
)

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// The console is exactly its static files, each with its type and a
// policy that keeps the page to its own origin.
func TestConsoleServesItsStaticFiles(t *testing.T) {
	want := []string{"console.css", "console.js", "grpcweb.js", "index.html", "match.js", "schema.js"}
	if got := console.Files(); !slices.Equal(got, want) {
		t.Fatalf("embedded files %v, want %v", got, want)
	}
	h := console.Handler()
	types := map[string]string{"": "text/html", "index.html": "text/html", "console.css": "text/css",
		"console.js": "text/javascript", "grpcweb.js": "text/javascript", "match.js": "text/javascript", "schema.js": "text/javascript"}
	for name, ct := range types {
		t.Run("/console/"+name, func(t *testing.T) {
			resp, body := get(t, h, http.MethodGet, "/console/"+name)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) || body == "" {
				t.Fatalf("status %d, type %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("headers: %v", resp.Header)
			}
		})
	}
	resp, _ := get(t, h, http.MethodGet, "/console")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("/console: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Nothing but those files: no listing, no other path, no writes.
func TestConsoleServesNothingElse(t *testing.T) {
	h := console.Handler()
	for _, path := range []string{"/console/static/index.html", "/console/console.go", "/console/../go.mod",
		"/console/%2e%2e/go.mod", "/console/missing.js", "/console/index.html/", "/console/.", "/console//index.html"} {
		if resp, _ := get(t, h, http.MethodGet, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, h, http.MethodPost, "/console/index.html"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

// The page carries no secrets and no deployment details: it is the same
// static text for every deployment, and calls only its own origin.
func TestConsoleHasNoSecrets(t *testing.T) {
	h := console.Handler()
	for _, name := range console.Files() {
		_, body := get(t, h, http.MethodGet, "/console/"+name)
		for _, bad := range []string{"OOF_", "postgres", "redis", "secret", "BEGIN ", "Bearer ey", "://", "127.0.0.1", "localhost"} {
			if strings.Contains(strings.ToLower(body), strings.ToLower(bad)) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}

// The listener forwards only RPCs the page calls: sign-in and the ops reads
// and re-drives, never account administration.
func TestConsoleMethods(t *testing.T) {
	for _, m := range console.Methods {
		if !strings.HasPrefix(m, "/oof.ops.v1.OpsService/") && !strings.HasPrefix(m, "/v1.api.auth.AuthService/") {
			t.Errorf("unexpected method %s", m)
		}
		for _, never := range []string{"CreateUser", "GrantRole", "Register"} {
			if strings.HasSuffix(m, "/"+never) {
				t.Errorf("the console must not expose %s", m)
			}
		}
	}
}
