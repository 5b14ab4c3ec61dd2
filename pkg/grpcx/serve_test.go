package grpcx

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

type served struct {
	addr string
	stop context.CancelFunc
	done chan error
	qry  *querySide
}

// serve runs Serve on loopback with the composed AuthService.
func serve(t *testing.T, grace time.Duration, qry *querySide) *served {
	t.Helper()
	s := NewServices()
	s.Add(&authpb.AuthService_ServiceDesc, &commandSide{}, "Login")
	s.Add(&authpb.AuthService_ServiceDesc, qry, "ValidateToken")
	srv := grpc.NewServer()
	s.RegisterOn(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &served{addr: lis.Addr().String(), stop: cancel, done: make(chan error, 1), qry: qry}
	go func() { out.done <- Serve(ctx, lis, srv, grace, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-out.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return out
}

func (s *served) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("Serve returned %v, want nil after ctx cancel", err)
		}
		s.done <- nil // let Cleanup observe it too
	case <-time.After(within):
		t.Fatalf("Serve did not return within %v of ctx cancel", within)
	}
}

func TestServeNativeGRPC(t *testing.T) {
	s := serve(t, time.Second, &querySide{})
	client := authpb.NewAuthServiceClient(dial(t, s.addr))
	v, err := client.ValidateToken(callCtx(t), &authpb.ValidateTokenRequest{AccessToken: "h2"})
	if err != nil {
		t.Fatalf("ValidateToken over HTTP/2: %v", err)
	}
	if v.GetUserId() != "query:h2" {
		t.Fatalf("response %v", v)
	}
	l, err := client.Login(callCtx(t), &authpb.LoginRequest{Username: "bob"})
	if err != nil || l.GetAccessToken() != "command:bob" {
		t.Fatalf("Login = %v, %v", l, err)
	}
	if _, err := client.Register(callCtx(t), &authpb.RegisterRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("Register: %v, want Unimplemented", err)
	}
}

// grpcWebFrame is one length-prefixed gRPC-Web frame: flag byte, big-endian
// uint32 length, payload. Flag 0x80 marks the trailer frame.
type grpcWebFrame struct {
	flag    byte
	payload []byte
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

func TestServeGRPCWeb(t *testing.T) {
	s := serve(t, time.Second, &querySide{})
	msg, err := proto.Marshal(&authpb.ValidateTokenRequest{AccessToken: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.WriteByte(0)
	_ = binary.Write(&body, binary.BigEndian, uint32(len(msg)))
	body.Write(msg)

	req, err := http.NewRequestWithContext(callCtx(t), http.MethodPost,
		"http://"+s.addr+authpb.AuthService_ValidateToken_FullMethodName, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc-web+proto")
	req.Header.Set("X-Grpc-Web", "1")
	req.Header.Set("Origin", "https://play.oof.gg")
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
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/grpc-web") {
		t.Fatalf("content-type %q", ct)
	}
	if o := resp.Header.Get("Access-Control-Allow-Origin"); o != "https://play.oof.gg" {
		t.Fatalf("Access-Control-Allow-Origin %q", o)
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
	trailers := map[string]string{}
	for _, line := range strings.Split(string(frames[1].payload), "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
		}
	}
	if trailers["grpc-status"] != "0" {
		t.Fatalf("trailer frame %q, want grpc-status 0", frames[1].payload)
	}
}

func TestServePlainHTTP(t *testing.T) {
	s := serve(t, time.Second, &querySide{})
	cases := []struct {
		name        string
		method      string
		contentType string
		want        int
	}{
		{"not gRPC", http.MethodGet, "", http.StatusNotFound},
		{"native gRPC over HTTP/1.1", http.MethodPost, "application/grpc", http.StatusHTTPVersionNotSupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(callCtx(t), tc.method, "http://"+s.addr+authpb.AuthService_Login_FullMethodName, nil)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestServeGracefulStop(t *testing.T) {
	qry := &querySide{started: make(chan struct{}), release: make(chan struct{})}
	s := serve(t, 5*time.Second, qry)
	client := authpb.NewAuthServiceClient(dial(t, s.addr))
	type result struct {
		v   *authpb.ValidateTokenResponse
		err error
	}
	res := make(chan result, 1)
	go func() {
		v, err := client.ValidateToken(callCtx(t), &authpb.ValidateTokenRequest{AccessToken: "inflight"})
		res <- result{v, err}
	}()
	<-qry.started
	s.stop()
	// Serve must wait for the in-flight call rather than cut it off.
	select {
	case <-s.done:
		t.Fatal("Serve returned while a call was in flight")
	case <-time.After(200 * time.Millisecond):
	}
	close(qry.release)
	r := <-res
	if r.err != nil || r.v.GetUserId() != "query:inflight" {
		t.Fatalf("in-flight call = %v, %v; want it to complete", r.v, r.err)
	}
	s.wait(t, 5*time.Second)
	if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		c.Close()
		t.Fatal("listener still accepts connections after Serve returned")
	}
}

func TestServeGraceExpires(t *testing.T) {
	qry := &querySide{started: make(chan struct{}), release: make(chan struct{})}
	defer close(qry.release)
	s := serve(t, 200*time.Millisecond, qry)
	client := authpb.NewAuthServiceClient(dial(t, s.addr))
	errc := make(chan error, 1)
	go func() {
		_, err := client.ValidateToken(callCtx(t), &authpb.ValidateTokenRequest{AccessToken: "stuck"})
		errc <- err
	}()
	<-qry.started
	start := time.Now()
	s.stop()
	s.wait(t, 5*time.Second)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("Serve returned after %v, before the grace period", d)
	}
	// The server is stopped hard: the call fails at once with UNAVAILABLE
	// (not later with the client's own 5s deadline).
	select {
	case err := <-errc:
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("stuck call ended with %v, want UNAVAILABLE", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stuck call was not cut off after the grace period")
	}
}
