package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAllowed(t *testing.T) {
	cases := []struct {
		entries []string
		origin  string
		want    bool
	}{
		{[]string{Loopback}, "http://localhost:5173", true},
		{[]string{Loopback}, "https://localhost", true},
		{[]string{Loopback}, "http://127.0.0.1:8080", true},
		{[]string{Loopback}, "http://[::1]:3000", true},
		{[]string{Loopback}, "http://LOCALHOST:1", true},
		{[]string{Loopback}, "https://play.oof.gg", false},
		{[]string{Loopback}, "http://localhost.evil.example", false},
		{[]string{Loopback}, "http://127.0.0.2", false},
		{[]string{Loopback}, "null", false},
		{[]string{Loopback}, "file://", false},
		{[]string{Loopback}, "", false},
		{[]string{"https://play.oof.gg"}, "https://play.oof.gg", true},
		{[]string{"https://play.oof.gg"}, "https://play.oof.gg:443", true},
		{[]string{"https://play.oof.gg"}, "http://play.oof.gg", false},
		{[]string{"https://play.oof.gg"}, "https://play.oof.gg:8443", false},
		{[]string{"https://play.oof.gg"}, "https://play.oof.gg.evil.example", false},
		{[]string{"https://play.oof.gg"}, "http://localhost", false},
		{[]string{"https://*.oof.gg"}, "https://a.oof.gg", true},
		{[]string{"https://*.oof.gg"}, "https://a.b.oof.gg", true},
		{[]string{"https://*.oof.gg"}, "https://oof.gg", false},
		{[]string{"https://*.oof.gg"}, "https://evil-oof.gg", false},
		{[]string{"https://*.oof.gg"}, "http://a.oof.gg", false},
		{[]string{"*"}, "https://anything.example", true},
		{nil, "http://localhost", false},
	}
	for _, tc := range cases {
		p, err := Parse(tc.entries)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.entries, err)
		}
		if got := p.Allowed(tc.origin); got != tc.want {
			t.Errorf("%q allows %q = %v, want %v", tc.entries, tc.origin, got, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, e := range []string{"oof.gg", "ftp://oof.gg", "https://oof.gg/app", "https://oof.gg?x=1", "https://user@oof.gg",
		"https://*.com.", "https://*.com", "https://", "localhost"} {
		if _, err := Parse([]string{e}); err == nil {
			t.Errorf("Parse accepted %q", e)
		}
	}
}

func TestAllowExposesResponseHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	w := Allow(rec, "http://localhost:1")
	w.Header().Set("Content-Type", "application/grpc-web+proto")
	w.Header().Set("Grpc-Status", "5")
	w.Header().Set("X-Oof-Version", "3")
	w.WriteHeader(http.StatusOK)
	h := rec.Result().Header
	if h.Get("Access-Control-Allow-Origin") != "http://localhost:1" || !strings.Contains(h.Get("Vary"), "Origin") {
		t.Fatalf("headers %v", h)
	}
	if got := h.Get("Access-Control-Expose-Headers"); got != "grpc-status, x-oof-version" {
		t.Fatalf("exposed %q, want grpc-status, x-oof-version", got)
	}
}

func TestAnswerPreflight(t *testing.T) {
	r := httptest.NewRequest(http.MethodOptions, "/v1.api.auth.AuthService/Login", nil)
	r.Header.Set("Origin", "http://localhost:1")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web")
	if !Preflight(r) {
		t.Fatal("not recognised as a preflight")
	}
	rec := httptest.NewRecorder()
	AnswerPreflight(rec, r)
	h := rec.Result().Header
	if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "http://localhost:1" ||
		h.Get("Access-Control-Allow-Headers") != "content-type,x-grpc-web" || h.Get("Access-Control-Allow-Methods") != "POST, OPTIONS" {
		t.Fatalf("HTTP %d %v", rec.Code, h)
	}
}
