package grpcx

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/cors"
)

// grpcWebFrame is one length-prefixed gRPC-Web frame: flag byte, big-endian
// uint32 length, payload. Flag 0x80 marks the trailer frame.
type grpcWebFrame struct {
	flag    byte
	payload []byte
}

func frame(t *testing.T, m proto.Message) []byte {
	t.Helper()
	msg, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteByte(0)
	_ = binary.Write(&b, binary.BigEndian, uint32(len(msg)))
	b.Write(msg)
	return b.Bytes()
}

func readFrames(t *testing.T, body []byte) []grpcWebFrame {
	t.Helper()
	var out []grpcWebFrame
	for len(body) > 0 {
		if len(body) < 5 {
			t.Fatalf("truncated frame header: % x", body)
		}
		n := binary.BigEndian.Uint32(body[1:5])
		if uint32(len(body)-5) < n {
			t.Fatalf("truncated frame: want %d bytes, have %d", n, len(body)-5)
		}
		out = append(out, grpcWebFrame{flag: body[0], payload: body[5 : 5+n]})
		body = body[5+n:]
	}
	return out
}

func trailers(f grpcWebFrame) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(f.payload), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return out
}

// decodeGroups decodes base64 four characters at a time, as clients do: a
// text response is separately padded chunks (one per flush).
func decodeGroups(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b)%4 != 0 {
		t.Fatalf("text body of %d characters: not whole base64 groups", len(b))
	}
	var out []byte
	for i := 0; i < len(b); i += 4 {
		dec, err := base64.StdEncoding.DecodeString(string(b[i : i+4]))
		if err != nil {
			t.Fatalf("text body is not base64 at %d: %v: %q", i, err, b)
		}
		out = append(out, dec...)
	}
	return out
}

// webPost sends one gRPC-Web request; headers are set as given.
func webPost(t *testing.T, addr, path string, body io.Reader, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(callCtx(t), http.MethodPost, "http://"+addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 1 {
		t.Fatalf("response over HTTP/%d, want HTTP/1.1", resp.ProtoMajor)
	}
	return resp, raw
}

// ValidateToken over gRPC-Web, binary and text, from browsers of allowed and
// refused origins and from clients that send no Origin.
func TestServeGRPCWeb(t *testing.T) {
	validate := frame(t, &authpb.ValidateTokenRequest{AccessToken: "web"})
	// Two separately padded base64 chunks: clients may send the body so.
	split := base64.StdEncoding.EncodeToString(validate[:4]) + base64.StdEncoding.EncodeToString(validate[4:])
	cases := []struct {
		name     string
		opts     []ServeOption
		origin   string // "self" = the server's own address
		text     string // base64 body; binary when empty
		wantCORS bool
		refused  bool
	}{
		{"binary, loopback page", nil, "http://localhost:5173", "", true, false},
		{"binary, 127.0.0.1 page", nil, "http://127.0.0.1:8000", "", true, false},
		{"binary, [::1] page", nil, "https://[::1]:8443", "", true, false},
		{"binary, no origin (not a browser)", nil, "", "", false, false},
		{"binary, same origin", nil, "self", "", false, false},
		{"text", nil, "http://localhost:5173", base64.StdEncoding.EncodeToString(validate), true, false},
		{"text in padded chunks", nil, "", split, false, false},
		{"remote page refused by default", nil, "https://play.oof.gg", "", false, true},
		{"remote page allowed by config", []ServeOption{WithOrigins(cors.MustParse([]string{"https://play.oof.gg"}))}, "https://play.oof.gg", "", true, false},
		{"lookalike refused", []ServeOption{WithOrigins(cors.MustParse([]string{"https://play.oof.gg"}))}, "https://play.oof.gg.evil.example", "", false, true},
		{"loopback refused when not configured", []ServeOption{WithOrigins(cors.MustParse([]string{"https://play.oof.gg"}))}, "http://localhost:5173", "", false, true},
		{"null origin refused", nil, "null", "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			qry := &querySide{}
			s := serve(t, time.Second, qry, tc.opts...)
			headers := map[string]string{"Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1"}
			var body io.Reader = bytes.NewReader(validate)
			if tc.text != "" {
				headers["Content-Type"] = "application/grpc-web-text"
				headers["Accept"] = "application/grpc-web-text"
				body = strings.NewReader(tc.text)
			}
			switch tc.origin {
			case "":
			case "self":
				headers["Origin"] = "http://" + s.addr
			default:
				headers["Origin"] = tc.origin
			}
			resp, raw := webPost(t, s.addr, authpb.AuthService_ValidateToken_FullMethodName, body, headers)
			acao := resp.Header.Get("Access-Control-Allow-Origin")
			if tc.refused {
				if resp.StatusCode != http.StatusForbidden || acao != "" || resp.Header.Get("Grpc-Status") != "7" {
					t.Fatalf("HTTP %d, Access-Control-Allow-Origin %q, grpc-status %q; want 403, none, 7",
						resp.StatusCode, acao, resp.Header.Get("Grpc-Status"))
				}
				if n := qry.validations.Load(); n != 0 {
					t.Fatalf("a refused origin's call ran the handler %d times", n)
				}
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
			}
			if (tc.wantCORS && acao != tc.origin) || (!tc.wantCORS && acao != "") {
				t.Fatalf("Access-Control-Allow-Origin %q, want CORS headers: %v", acao, tc.wantCORS)
			}
			ct := resp.Header.Get("Content-Type")
			if tc.text != "" {
				if ct != "application/grpc-web-text+proto" {
					t.Fatalf("content-type %q, want application/grpc-web-text+proto", ct)
				}
				raw = decodeGroups(t, raw)
			} else if ct != "application/grpc-web+proto" {
				t.Fatalf("content-type %q", ct)
			}
			frames := readFrames(t, raw)
			if len(frames) != 2 || frames[0].flag != 0 || frames[1].flag&0x80 == 0 {
				t.Fatalf("want one data frame then one trailer frame, got %+v", frames)
			}
			var v authpb.ValidateTokenResponse
			if err := proto.Unmarshal(frames[0].payload, &v); err != nil {
				t.Fatal(err)
			}
			if !v.GetIsValid() || v.GetUserId() != "query:web" {
				t.Fatalf("response %v", &v)
			}
			if tr := trailers(frames[1]); tr["grpc-status"] != "0" {
				t.Fatalf("trailer frame %q, want grpc-status 0", frames[1].payload)
			}
		})
	}
}

// A browser asks before every gRPC-Web call; only allowed origins get a yes.
func TestServeGRPCWebPreflight(t *testing.T) {
	s := serve(t, time.Second, &querySide{})
	cases := []struct {
		origin  string
		allowed bool
	}{
		{"http://localhost:3000", true},
		{"http://127.0.0.1", true},
		{"https://evil.example", false},
		{"http://localhost.evil.example", false},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(callCtx(t), http.MethodOptions, "http://"+s.addr+authpb.AuthService_Login_FullMethodName, nil)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web,authorization,idempotency-key")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if !tc.allowed {
				if resp.StatusCode != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "" {
					t.Fatalf("HTTP %d, Access-Control-Allow-Origin %q; want 403 and none", resp.StatusCode, h.Get("Access-Control-Allow-Origin"))
				}
				return
			}
			if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != tc.origin ||
				!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
				h.Get("Access-Control-Allow-Headers") != "content-type,x-grpc-web,authorization,idempotency-key" {
				t.Fatalf("preflight answer HTTP %d %v", resp.StatusCode, h)
			}
		})
	}
}

// gRPC response metadata is readable by the page: every response header is
// exposed, including grpc-status on a trailers-only answer.
func TestServeGRPCWebExposesHeaders(t *testing.T) {
	s := serve(t, time.Second, &querySide{})
	resp, _ := webPost(t, s.addr, "/v1.api.auth.AuthService/Register", bytes.NewReader(frame(t, &authpb.RegisterRequest{})),
		map[string]string{"Content-Type": "application/grpc-web+proto", "Origin": "http://localhost:1234"})
	exposed := resp.Header.Get("Access-Control-Expose-Headers")
	if resp.Header.Get("Grpc-Status") != "12" || !strings.Contains(exposed, "grpc-status") || !strings.Contains(exposed, "grpc-message") {
		t.Fatalf("grpc-status %q, exposed %q; want 12 (Register is not served here) and grpc-status, grpc-message exposed",
			resp.Header.Get("Grpc-Status"), exposed)
	}
}

func TestServeGRPCWebUnknownMethod(t *testing.T) {
	s := serve(t, time.Second, &querySide{})
	for _, ct := range []string{"application/grpc-web+proto", "application/grpc-web-text"} {
		resp, _ := webPost(t, s.addr, "/no.Such/Method", strings.NewReader(""), map[string]string{"Content-Type": ct})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Grpc-Status") != "12" {
			t.Fatalf("%s: HTTP %d grpc-status %q, want a trailers-only UNIMPLEMENTED", ct, resp.StatusCode, resp.Header.Get("Grpc-Status"))
		}
	}
}

func TestServeGRPCWebTextBadBody(t *testing.T) {
	qry := &querySide{}
	s := serve(t, time.Second, qry)
	for _, body := range []string{"!!not base64!!", "AAAAAB", "AAAAAA=A"} {
		resp, _ := webPost(t, s.addr, authpb.AuthService_ValidateToken_FullMethodName, strings.NewReader(body),
			map[string]string{"Content-Type": "application/grpc-web-text"})
		if resp.Header.Get("Grpc-Status") != "3" {
			t.Fatalf("%q: HTTP %d, grpc-status %q; want INVALID_ARGUMENT (3)", body, resp.StatusCode, resp.Header.Get("Grpc-Status"))
		}
	}
	if n := qry.validations.Load(); n != 0 {
		t.Fatalf("handler ran %d times on undecodable bodies", n)
	}
}

// A server stream in text mode: each message must reach the client when it
// is sent (complete base64 at every flush), not when the stream ends.
func TestServeGRPCWebTextServerStream(t *testing.T) {
	s := serve(t, time.Second, &querySide{})
	body := base64.StdEncoding.EncodeToString(frame(t, &healthpb.HealthCheckRequest{}))
	req, _ := http.NewRequestWithContext(callCtx(t), http.MethodPost, "http://"+s.addr+"/grpc.health.v1.Health/Watch", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/grpc-web-text")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/grpc-web-text+proto" {
		t.Fatalf("content-type %q", ct)
	}
	// The stream stays open (Watch never ends by itself): read what the
	// first flush delivered, decoding group by group.
	r := bufio.NewReader(resp.Body)
	var got []byte
	for {
		group := make([]byte, 4)
		if _, err := io.ReadFull(r, group); err != nil {
			t.Fatalf("stream ended or failed before the first message: %v (have % x)", err, got)
		}
		dec, err := base64.StdEncoding.DecodeString(string(group))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, dec...)
		if len(got) >= 5 && len(got) >= 5+int(binary.BigEndian.Uint32(got[1:5])) {
			break
		}
	}
	var hr healthpb.HealthCheckResponse
	if err := proto.Unmarshal(readFrames(t, got)[0].payload, &hr); err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first message %v, %v; want SERVING", &hr, err)
	}
}
