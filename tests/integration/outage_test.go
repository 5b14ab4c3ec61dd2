package integration

import (
	"context"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/tests/harness"
)

// When PostgreSQL or Redis goes away, calls fail fast with UNAVAILABLE
// (never a hang past the deadline) and leave nothing half-done.
func TestDependencyOutagesAreUnavailable(t *testing.T) {
	ctx := testCtx(t)
	pgURL, err := url.Parse(env.Cfg.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	pgProxy, err := harness.NewProxy(pgURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer pgProxy.Close()
	redisProxy, err := harness.NewProxy(env.Cfg.RedisAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer redisProxy.Close()

	cfg := env.Cfg
	proxied := *pgURL
	proxied.Host = pgProxy.Addr()
	cfg.PostgresURL = proxied.String()
	cfg.RedisAddr = redisProxy.Addr()
	cfg.ProjectorGroupPrefix = "outage" + harness.RandomID(3) + "."
	addr, err := env.StartPlatform(ctx, cfg, routing.TargetCommand)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := authpb.NewAuthServiceClient(conn)

	a := register(t, ctx, "out") // through the main platform; same database
	cases := []struct {
		name  string
		proxy *harness.Proxy
		call  func(context.Context) error
	}{
		{"register without postgres", pgProxy, func(c context.Context) error {
			_, err := client.Register(c, &authpb.RegisterRequest{Username: uniqueName("nopg"), Email: uniqueName("nopg") + "@example.com", Password: "password123"})
			return err
		}},
		{"login without redis", redisProxy, func(c context.Context) error {
			_, err := client.Login(c, &authpb.LoginRequest{Username: a.username, Password: a.password})
			return err
		}},
		{"refresh without redis", redisProxy, func(c context.Context) error {
			_, err := client.RefreshToken(c, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			accounts := countRows(t, ctx, `SELECT count(*) FROM auth_accounts`)
			tc.proxy.Cut()
			defer tc.proxy.Restore()
			callCtx, cancel := context.WithTimeout(asNewClient(ctx), 8*time.Second)
			defer cancel()
			start := time.Now()
			err := tc.call(callCtx)
			wantCode(t, err, codes.Unavailable)
			if time.Since(start) >= 8*time.Second {
				t.Fatal("call ran into its deadline instead of failing")
			}
			if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts`); n != accounts {
				t.Fatalf("auth_accounts changed during the outage: %d -> %d", accounts, n)
			}
		})
	}
	// After the outage the same platform serves again.
	if _, err := client.Login(asNewClient(ctx), &authpb.LoginRequest{Username: a.username, Password: a.password}); err != nil {
		t.Fatalf("login after the outage: %v", err)
	}
}
