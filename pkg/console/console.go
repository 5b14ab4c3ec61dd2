// Package console is the operator web console (docs/operations.md): a page
// of plain HTML, JavaScript and CSS embedded in the binary and served on the
// admin listener at /console/. It signs in over gRPC-Web (AuthService Login)
// and calls the admin-only oof.ops.v1 API with the bearer token; the admin
// listener forwards exactly the RPCs in Methods to the process's gRPC
// server, so the page needs no other origin and no CORS.
//
// The files are static: nothing about the deployment (addresses, keys,
// configuration) is written into them, so the page reveals nothing before
// an admin signs in, and every answer after that is an RPC's.
package console

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// Methods are the gRPC methods the console calls, the only ones the admin
// listener forwards to the gRPC server (every call still passes the
// server's interceptors: authentication, and the ops API's admin check).
var Methods = []string{
	"/v1.api.auth.AuthService/Login",
	"/v1.api.auth.AuthService/RefreshToken",
	"/oof.ops.v1.OpsService/GetStatus",
	"/oof.ops.v1.OpsService/ListDeadLetters",
	"/oof.ops.v1.OpsService/RetryDeadLetters",
	"/oof.ops.v1.OpsService/ListMatches",
	"/oof.ops.v1.OpsService/GetMatch",
	"/oof.ops.v1.OpsService/ReplayMatch",
}

// Files lists the served files, relative to Prefix.
func Files() []string {
	var out []string
	_ = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, "static/"))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// contentSecurityPolicy lets the page load only its own files and call
// only its own origin (the admin listener), and keeps it out of frames.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the embedded files under Prefix (index.html for the
// folder itself): no directory listings, nothing outside the embedded set.
func Handler() http.Handler {
	files := map[string]bool{}
	for _, f := range Files() {
		files[f] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if name == "" {
			name = "index.html"
		}
		if !files[name] {
			http.NotFound(w, r)
			return
		}
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Always revalidated: a new binary's page never mixes with an old one's.
		h.Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}
