package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// webCall makes one gRPC-Web call over HTTP/1.1 the way browser clients do
// (text mode: base64 bodies, the default of protobuf-ts and grpc-web; or
// binary) and returns the HTTP response, the decoded reply message (if any)
// and the grpc-status from the trailer frame or the headers.
func webCall(t *testing.T, ctx context.Context, method string, in, out proto.Message, text bool, headers map[string]string) (*http.Response, string) {
	t.Helper()
	return webCallAt(t, ctx, env.Addr, method, in, out, text, headers)
}

// webCallAt is webCall to another listener (addr).
func webCallAt(t *testing.T, ctx context.Context, addr, method string, in, out proto.Message, text bool, headers map[string]string) (*http.Response, string) {
	t.Helper()
	msg, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	framed := append([]byte{0, 0, 0, 0, 0}, msg...)
	binary.BigEndian.PutUint32(framed[1:5], uint32(len(msg)))
	body, ct := io.Reader(bytes.NewReader(framed)), "application/grpc-web+proto"
	if text {
		body, ct = strings.NewReader(base64.StdEncoding.EncodeToString(framed)), "application/grpc-web-text"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+method, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Grpc-Web", "1")
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
	if text {
		var dec []byte
		for i := 0; i+4 <= len(raw); i += 4 {
			g, err := base64.StdEncoding.DecodeString(string(raw[i : i+4]))
			if err != nil {
				t.Fatalf("text reply is not base64: %q", raw)
			}
			dec = append(dec, g...)
		}
		raw = dec
	}
	code := resp.Header.Get("Grpc-Status")
	for len(raw) >= 5 {
		n := binary.BigEndian.Uint32(raw[1:5])
		payload := raw[5 : 5+n]
		if raw[0]&0x80 != 0 {
			for _, line := range strings.Split(string(payload), "\r\n") {
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "grpc-status") {
					code = strings.TrimSpace(v)
				}
			}
		} else if err := proto.Unmarshal(payload, out); err != nil {
			t.Fatal(err)
		}
		raw = raw[5+n:]
	}
	return resp, code
}

// A browser page registers and logs in over gRPC-Web through the platform's
// own listener (what `make up` serves): both wire formats, CORS headers for
// a loopback page, and a page from another origin is refused without any
// effect.
func TestGRPCWebRegisterAndLogin(t *testing.T) {
	ctx := testCtx(t)
	for _, text := range []bool{true, false} {
		name := map[bool]string{true: "text", false: "binary"}[text]
		t.Run(name, func(t *testing.T) {
			user := uniqueName("web_" + name)
			page := map[string]string{"Origin": "http://localhost:5173", "X-Forwarded-For": "10.250.0." + map[bool]string{true: "1", false: "2"}[text]}
			var reg authpb.RegisterResponse
			resp, code := webCall(t, ctx, "/v1.api.auth.AuthService/Register",
				&authpb.RegisterRequest{Username: user, Email: user + "@example.com", Password: "correct horse battery"}, &reg, text, page)
			if code != "0" || reg.GetAccessToken() == "" || reg.GetUserId() == "" {
				t.Fatalf("Register over gRPC-Web: HTTP %d grpc-status %q, %v", resp.StatusCode, code, &reg)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != page["Origin"] {
				t.Fatalf("Access-Control-Allow-Origin %q", got)
			}
			var login authpb.LoginResponse
			if _, code := webCall(t, ctx, "/v1.api.auth.AuthService/Login",
				&authpb.LoginRequest{Username: user, Password: "correct horse battery"}, &login, text, page); code != "0" || login.GetAccessToken() == "" {
				t.Fatalf("Login over gRPC-Web: grpc-status %q, %v", code, &login)
			}
			v, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: login.GetAccessToken()})
			if err != nil || !v.GetIsValid() || v.GetUserId() != reg.GetUserId() {
				t.Fatalf("the gRPC-Web login's token: %v, %v", v, err)
			}
		})
	}
	t.Run("refused origin changes nothing", func(t *testing.T) {
		user := uniqueName("web_evil")
		var reg authpb.RegisterResponse
		resp, code := webCall(t, ctx, "/v1.api.auth.AuthService/Register",
			&authpb.RegisterRequest{Username: user, Email: user + "@example.com", Password: "correct horse battery"}, &reg, true,
			map[string]string{"Origin": "https://evil.example", "X-Forwarded-For": "10.250.0.3"})
		if resp.StatusCode != http.StatusForbidden || code != "7" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("HTTP %d grpc-status %q ACAO %q; want 403, PERMISSION_DENIED, none",
				resp.StatusCode, code, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if n := countRows(t, ctx, "SELECT count(*) FROM auth_accounts WHERE username = $1", user); n != 0 {
			t.Fatalf("a refused call created %d accounts", n)
		}
	})
}
