package integration

import (
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/pkg/routing"
)

// shortGraceAuth runs a command target on the test namespace whose refresh
// grace window is grace, and returns an AuthService client of it.
func shortGraceAuth(t *testing.T, grace time.Duration) authpb.AuthServiceClient {
	t.Helper()
	cfg := env.Cfg
	cfg.RefreshGrace = grace
	run, err := env.RunPlatform(testCtx(t), cfg, routing.TargetCommand)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Stop)
	return authpb.NewAuthServiceClient(dialPlatform(t, run.GRPCAddr))
}

// Two tabs (here five) refreshing with the same token at once all succeed
// with the same successor and access tokens of the same login; a retry after
// a lost response gets that successor again; the login stays valid.
func TestRefreshGraceConcurrentRefreshes(t *testing.T) {
	ctx := testCtx(t)
	a := register(t, ctx, "grace")
	login := loginOf(t, a.resp.GetAccessToken())
	const tabs = 5
	var wg sync.WaitGroup
	answers := make([]*authpb.RefreshTokenResponse, tabs)
	errs := make([]error, tabs)
	for i := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
		}()
	}
	wg.Wait()
	successor := ""
	for i := range tabs {
		if errs[i] != nil {
			t.Fatalf("tab %d: %v", i, errs[i])
		}
		if successor == "" {
			successor = answers[i].GetRefreshToken()
		}
		if answers[i].GetRefreshToken() != successor {
			t.Fatalf("tab %d got another successor", i)
		}
		if got := loginOf(t, answers[i].GetAccessToken()); got != login {
			t.Fatalf("tab %d: access token of login %s, want %s", i, got, login)
		}
		if !accepted(t, answers[i].GetAccessToken()) {
			t.Fatalf("tab %d: access token not valid", i)
		}
	}
	if successor == a.resp.GetRefreshToken() {
		t.Fatal("the token was not rotated")
	}
	// The response was lost: the client retries with the same token.
	again, err := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
	if err != nil || again.GetRefreshToken() != successor {
		t.Fatalf("retry: %v, same successor %v", err, again.GetRefreshToken() == successor)
	}
	// The shared successor rotates normally, and the login was never revoked.
	next, err := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: successor})
	if err != nil || next.GetRefreshToken() == successor {
		t.Fatalf("refresh with the successor: %v", err)
	}
	if !accepted(t, a.resp.GetAccessToken()) {
		t.Fatal("the login's first access token stopped validating")
	}
}

// The grace window ends: a retry within it gets the same successor, the
// same token after it revokes the login, successor included.
func TestRefreshReuseAfterGraceRevokes(t *testing.T) {
	ctx := testCtx(t)
	c := shortGraceAuth(t, 400*time.Millisecond)
	a := register(t, ctx, "gend")
	first, err := c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
	if err != nil {
		t.Fatal(err)
	}
	within, err := c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
	if err != nil || within.GetRefreshToken() != first.GetRefreshToken() {
		t.Fatalf("retry within the window: %v", err)
	}
	time.Sleep(600 * time.Millisecond)
	_, err = c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
	st := wantCode(t, err, codes.Unauthenticated)
	if st.Message() != "refresh token was already used; the login is revoked" {
		t.Fatalf("message %q", st.Message())
	}
	_, err = c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: first.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
}

// A refresh that fails before the token is spent (the account is gone)
// leaves the token as it was; nothing is rotated or revoked.
func TestRefreshOfDeletedAccountSpendsNothing(t *testing.T) {
	ctx := testCtx(t)
	a := register(t, ctx, "gone")
	tokens := refreshTokenCount(t)
	// Park the account under another id, as if it were deleted.
	park := func(from, to string) {
		t.Helper()
		if _, err := env.Pool.Exec(ctx, `UPDATE auth_accounts SET user_id = $2::uuid WHERE user_id = $1::uuid`, from, to); err != nil {
			t.Fatal(err)
		}
	}
	parked := "00000000-0000-4000-8000-" + a.resp.GetUserId()[24:]
	park(a.resp.GetUserId(), parked)
	_, err := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)
	if n := refreshTokenCount(t); n != tokens {
		t.Fatalf("a refused refresh issued %d tokens", n-tokens)
	}
	park(parked, a.resp.GetUserId())
	// The token was not spent: it rotates normally now.
	if _, err := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()}); err != nil {
		t.Fatalf("refresh after the account is back: %v", err)
	}
}
