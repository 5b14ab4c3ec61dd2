package integration

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/tests/harness"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var ipCounter atomic.Uint32

// asNewClient makes calls look like they come from a fresh client address,
// so per-address rate limits of one test do not affect another.
func asNewClient(ctx context.Context) context.Context {
	n := ipCounter.Add(1)
	ip := fmt.Sprintf("10.%d.%d.%d", (n>>16)&0xff, (n>>8)&0xff, n&0xff)
	return metadata.AppendToOutgoingContext(ctx, "x-forwarded-for", ip)
}

func withBearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func authClient() authpb.AuthServiceClient { return authpb.NewAuthServiceClient(env.Conn) }

// uniqueName returns a fresh valid username.
func uniqueName(prefix string) string { return prefix + "_" + harness.RandomID(4) }

type account struct {
	username, email, password string
	resp                      *authpb.RegisterResponse
}

func register(t *testing.T, ctx context.Context, prefix string) account {
	t.Helper()
	a := account{username: uniqueName(prefix), password: "correct horse battery"}
	a.email = a.username + "@example.com"
	resp, err := authClient().Register(asNewClient(ctx), &authpb.RegisterRequest{
		Username: a.username, Email: a.email, Password: a.password})
	if err != nil {
		t.Fatalf("register %s: %v", a.username, err)
	}
	a.resp = resp
	return a
}

func wantCode(t *testing.T, err error, want codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		t.Fatalf("got %v (%q), want %v", st.Code(), st.Message(), want)
	}
	return st
}

func countRows(t *testing.T, ctx context.Context, query string, args ...any) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func codeOf(err error) codes.Code { return status.Code(err) }

// waitFor polls cond for up to 10s; for state owned by projectors that
// commands do not wait on.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
