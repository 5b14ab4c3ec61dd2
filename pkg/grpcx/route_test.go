package grpcx

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// WithHandler takes its path and what is under it, and leaves the rest
// (gRPC-Web, paths that only share a prefix) to the translator.
func TestWithHandlerRoutesItsPath(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "mounted "+r.URL.Path) })
	s := serve(t, time.Second, &querySide{}, WithHandler("/ws", h))
	for _, tc := range []struct {
		path    string
		mounted bool
	}{{"/ws", true}, {"/ws/abc", true}, {"/wsx", false}, {"/v1.api.auth.AuthService/Login", false}} {
		resp, err := http.Get("http://" + s.addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if got := string(body) == "mounted "+tc.path; got != tc.mounted {
			t.Errorf("%s: mounted %v (HTTP %d %q), want %v", tc.path, got, resp.StatusCode, body, tc.mounted)
		}
	}
}
