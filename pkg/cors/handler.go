package cors

import (
	"net/http"
	"sort"
	"strings"
)

// Preflight reports whether r is a CORS preflight: an OPTIONS request that
// names the method the page wants to use.
func Preflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// maxAge is how long a browser may reuse a preflight answer (Chromium caps
// it at 2 h).
const maxAge = "7200"

// AnswerPreflight answers a preflight from an allowed origin: POST may be
// used with whatever request headers the page asked for, since every header
// is gRPC metadata (authorization, idempotency-key, x-oof-expected-version,
// grpc-timeout, x-grpc-web, ...).
func AnswerPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
	}
	h.Set("Access-Control-Max-Age", maxAge)
	h.Add("Vary", "Origin")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
}

// Allow wraps w so its response lets the page of origin read it, including
// every response header the handler sets (gRPC response metadata such as
// x-oof-version, and grpc-status on a trailers-only answer).
func Allow(w http.ResponseWriter, origin string) http.ResponseWriter {
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Add("Vary", "Origin")
	return &exposing{ResponseWriter: w}
}

// exposing lists the response's headers in Access-Control-Expose-Headers
// just before they are sent, since only then are they all known.
type exposing struct {
	http.ResponseWriter
	wrote bool
}

// safelisted headers are readable without being exposed.
var safelisted = map[string]bool{
	"Cache-Control": true, "Content-Language": true, "Content-Length": true, "Content-Type": true,
	"Expires": true, "Last-Modified": true, "Pragma": true, "Vary": true, "Date": true,
}

func (e *exposing) expose() {
	if e.wrote {
		return
	}
	e.wrote = true
	h := e.ResponseWriter.Header()
	var names []string
	for k := range h {
		if !safelisted[k] && !strings.HasPrefix(k, "Access-Control-") &&
			!strings.HasPrefix(k, http.TrailerPrefix) && k != "Trailer" {
			names = append(names, strings.ToLower(k))
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		h.Set("Access-Control-Expose-Headers", strings.Join(names, ", "))
	}
}

func (e *exposing) WriteHeader(code int) {
	e.expose()
	e.ResponseWriter.WriteHeader(code)
}

func (e *exposing) Write(b []byte) (int, error) {
	e.expose()
	return e.ResponseWriter.Write(b)
}

// Flush passes flushes through: server streams rely on them.
func (e *exposing) Flush() {
	e.expose()
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (e *exposing) Unwrap() http.ResponseWriter { return e.ResponseWriter }
