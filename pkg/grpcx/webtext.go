package grpcx

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
)

// The "grpc-web-text" variant is binary gRPC-Web with both bodies base64
// encoded. It is the default of the common browser clients (protobuf-ts's
// GrpcWebFetchTransport, Google's grpc-web), so it must keep working; the
// translator behind it speaks binary only.

func isGRPCWebText(contentType string) bool {
	return contentType == "application/grpc-web-text" || contentType == "application/grpc-web-text+proto"
}

// maxTextBody bounds a grpc-web-text request body. gRPC-Web has no client
// streams, so the body is one message, and the server refuses messages over
// 1 MiB anyway; this only stops a body from being read without end.
const maxTextBody = 4 << 20

// serveWebText decodes the request body, lets next serve binary gRPC-Web,
// and encodes what it answers. A body that is not base64 is answered
// INVALID_ARGUMENT before anything runs.
func serveWebText(next http.Handler, w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxTextBody+1))
	switch {
	case err != nil:
		webStatus(w, codes.Unavailable, "cannot read the request body")
		return
	case len(raw) > maxTextBody:
		webStatus(w, codes.ResourceExhausted, "request body too large")
		return
	}
	body, ok := decodeTextGroups(raw)
	if !ok {
		webStatus(w, codes.InvalidArgument, "grpc-web-text request body is not base64")
		return
	}
	r.Header.Set("Content-Type", "application/grpc-web+proto")
	r.Header.Del("Content-Length")
	r.ContentLength = int64(len(body))
	r.Body = io.NopCloser(bytes.NewReader(body))
	tw := &textWriter{ResponseWriter: w}
	next.ServeHTTP(tw, r)
	tw.finish()
}

// decodeTextGroups decodes base64 in groups of four characters. Each group
// decodes on its own, so a body made of several separately padded chunks
// (which clients may send) decodes as well as one.
func decodeTextGroups(in []byte) ([]byte, bool) {
	out := make([]byte, 0, len(in)/4*3)
	var group [4]byte
	n := 0
	for _, c := range in {
		if c == '\r' || c == '\n' || c == ' ' || c == '\t' {
			continue
		}
		group[n] = c
		if n++; n < 4 {
			continue
		}
		n = 0
		var dec [3]byte
		k, err := base64.StdEncoding.Decode(dec[:], group[:])
		if err != nil {
			return nil, false
		}
		out = append(out, dec[:k]...)
	}
	return out, n == 0
}

// webStatus answers a gRPC-Web call with a trailers-only status.
func webStatus(w http.ResponseWriter, c codes.Code, msg string) {
	w.Header().Set("Content-Type", "application/grpc-web-text+proto")
	w.Header().Set("Grpc-Status", strconv.Itoa(int(c)))
	w.Header().Set("Grpc-Message", msg)
	w.WriteHeader(http.StatusOK)
}

// textWriter base64-encodes the response body. Whole 3-byte groups go out
// as they come; the remainder is padded and sent at each flush (a server
// stream's message must reach the client now) and at the end.
type textWriter struct {
	http.ResponseWriter
	wroteHeader bool
	pending     []byte
	buf         []byte
}

func (t *textWriter) WriteHeader(code int) {
	if t.wroteHeader {
		return
	}
	t.wroteHeader = true
	h := t.ResponseWriter.Header()
	if ct := h.Get("Content-Type"); strings.HasPrefix(ct, "application/grpc-web") {
		h.Set("Content-Type", "application/grpc-web-text+proto")
	}
	h.Del("Content-Length")
	t.ResponseWriter.WriteHeader(code)
}

func (t *textWriter) Write(b []byte) (int, error) {
	t.WriteHeader(http.StatusOK)
	t.pending = append(t.pending, b...)
	whole := len(t.pending) - len(t.pending)%3
	if whole == 0 {
		return len(b), nil
	}
	if err := t.emit(t.pending[:whole]); err != nil {
		return 0, err
	}
	t.pending = append(t.pending[:0], t.pending[whole:]...)
	return len(b), nil
}

func (t *textWriter) emit(b []byte) error {
	t.buf = base64.StdEncoding.AppendEncode(t.buf[:0], b)
	_, err := t.ResponseWriter.Write(t.buf)
	return err
}

// drain sends the remainder, padded.
func (t *textWriter) drain() {
	if len(t.pending) > 0 {
		_ = t.emit(t.pending)
		t.pending = t.pending[:0]
	}
}

func (t *textWriter) Flush() {
	t.WriteHeader(http.StatusOK)
	t.drain()
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *textWriter) finish() {
	if t.wroteHeader {
		t.drain()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (t *textWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
