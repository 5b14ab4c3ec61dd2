package integration

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	globalpb "github.com/oof-gg/platform/api/gen/v1/api/global"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/routing"
)

// echoGlobal is a test-only streaming service (the contract's streams are
// not built yet): it sends every event back.
type echoGlobal struct {
	commonpb.UnimplementedGlobalServiceServer
}

func (echoGlobal) StreamEvents(s commonpb.GlobalService_StreamEventsServer) error {
	for {
		ev, err := s.Recv()
		if err != nil {
			return err
		}
		if err := s.Send(ev); err != nil {
			return err
		}
	}
}

const (
	streamTokenTTL     = 4 * time.Second
	streamRefreshGrace = 200 * time.Millisecond
)

type streamPlatform struct {
	conn  *grpc.ClientConn
	admin string
}

// startStreamPlatform runs a command target of the shared environment that
// issues short-lived tokens, re-checks open streams often, and serves the
// echo stream behind the usual interceptors.
func startStreamPlatform(t *testing.T, ctx context.Context) streamPlatform {
	t.Helper()
	cfg := env.Cfg
	cfg.AccessTokenTTL = streamTokenTTL
	cfg.StreamAuthRecheck = 100 * time.Millisecond
	// A short refresh grace: the revocation case reuses a spent refresh
	// token after it.
	cfg.RefreshGrace = streamRefreshGrace
	run, err := env.RunPlatform(ctx, cfg, routing.TargetCommand, platform.WithServices(func(s *grpcx.Services) {
		s.Add(&commonpb.GlobalService_ServiceDesc, echoGlobal{}, "StreamEvents")
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Stop)
	conn, err := grpc.NewClient(run.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return streamPlatform{conn: conn, admin: run.AdminAddr}
}

// openEcho opens the stream with token and proves it works with one echo.
func openEcho(t *testing.T, ctx context.Context, conn *grpc.ClientConn, token string) commonpb.GlobalService_StreamEventsClient {
	t.Helper()
	st, err := commonpb.NewGlobalServiceClient(conn).StreamEvents(withBearer(ctx, token))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&globalpb.GlobalEvent{Id: "e1", EventName: "ping"}); err != nil {
		t.Fatal(err)
	}
	if ev, err := st.Recv(); err != nil || ev.GetId() != "e1" {
		t.Fatalf("echo = %v, %v", ev, err)
	}
	return st
}

// streamEnd waits for the server to end the stream and returns how.
func streamEnd(t *testing.T, st commonpb.GlobalService_StreamEventsClient, within time.Duration) (*status.Status, time.Duration) {
	t.Helper()
	start := time.Now()
	got := make(chan error, 1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				got <- err
				return
			}
		}
	}()
	select {
	case err := <-got:
		return status.Convert(err), time.Since(start)
	case <-time.After(within):
		t.Fatalf("stream still open after %v", within)
		return nil, 0
	}
}

// An open stream ends UNAUTHENTICATED when its token expires, and when its
// login is revoked (well before the expiry); streams are counted in the
// standard metrics.
func TestStreamsRecheckTheToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := startStreamPlatform(t, ctx)
	auth := authpb.NewAuthServiceClient(sp.conn)
	newAccount := func(prefix string) *authpb.RegisterResponse {
		name := uniqueName(prefix)
		r, err := auth.Register(asNewClient(ctx), &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("without a token the stream does not open", func(t *testing.T) {
		st, err := commonpb.NewGlobalServiceClient(sp.conn).StreamEvents(ctx)
		if err == nil {
			_, err = st.Recv()
		}
		wantCode(t, err, codes.Unauthenticated)
	})

	t.Run("expiry", func(t *testing.T) {
		acct := newAccount("stream_exp")
		st := openEcho(t, ctx, sp.conn, acct.GetAccessToken())
		s, after := streamEnd(t, st, streamTokenTTL+2*time.Second)
		if s.Code() != codes.Unauthenticated || s.Message() != "access token expired" {
			t.Fatalf("stream ended with %v %q after %v, want UNAUTHENTICATED at expiry", s.Code(), s.Message(), after)
		}
	})

	t.Run("revocation", func(t *testing.T) {
		acct := newAccount("stream_rev")
		st := openEcho(t, ctx, sp.conn, acct.GetAccessToken())
		// Reusing a spent refresh token after the grace for retried
		// refreshes revokes its login.
		first := acct.GetRefreshToken()
		if _, err := auth.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: first}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(streamRefreshGrace + 100*time.Millisecond)
		if _, err := auth.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: first}); err == nil {
			t.Fatal("a spent refresh token was accepted after the grace window")
		}
		s, after := streamEnd(t, st, 2*time.Second)
		if s.Code() != codes.Unauthenticated || s.Message() != "access token no longer valid" {
			t.Fatalf("stream ended with %v %q after %v, want UNAUTHENTICATED on revocation", s.Code(), s.Message(), after)
		}
	})

	t.Run("contract streams run the interceptors", func(t *testing.T) {
		acct := newAccount("stream_contract")
		st, err := commonpb.NewGameServiceClient(sp.conn).StreamEvents(withBearer(ctx, acct.GetAccessToken()))
		if err == nil {
			_, err = st.Recv()
		}
		wantCode(t, err, codes.Unimplemented)
	})

	t.Run("metrics", func(t *testing.T) {
		body := scrape(t, ctx, sp.admin)
		for _, want := range []string{
			`grpc_server_handled_total{grpc_code="OK",grpc_method="Register",grpc_service="v1.api.auth.AuthService",grpc_type="unary"}`,
			`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="StreamEvents",grpc_service="v1.api.common.GlobalService",grpc_type="bidi_stream"}`,
			`grpc_server_started_total{grpc_method="StreamEvents",grpc_service="v1.api.common.GlobalService",grpc_type="bidi_stream"}`,
			`grpc_server_handling_seconds_bucket{grpc_method="Register",grpc_service="v1.api.auth.AuthService",grpc_type="unary",le=`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func scrape(t *testing.T, ctx context.Context, admin string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
