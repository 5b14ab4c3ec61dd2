package grpcx

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

type served struct {
	addr string
	stop context.CancelFunc
	done chan error
	qry  *querySide
}

// serve runs Serve on loopback with the composed AuthService and a health
// service (a server stream for the gRPC-Web tests).
func serve(t *testing.T, grace time.Duration, qry *querySide, opts ...ServeOption) *served {
	t.Helper()
	s := NewServices()
	s.Add(&authpb.AuthService_ServiceDesc, &commandSide{}, "Login")
	s.Add(&authpb.AuthService_ServiceDesc, qry, "ValidateToken")
	srv := grpc.NewServer()
	s.RegisterOn(srv)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &served{addr: lis.Addr().String(), stop: cancel, done: make(chan error, 1), qry: qry}
	go func() {
		out.done <- Serve(ctx, lis, srv, grace, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	}()
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
