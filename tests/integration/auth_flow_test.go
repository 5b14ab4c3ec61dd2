package integration

import (
	"testing"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

// The whole journey of a new player: every step must see the previous one
// at once (read-your-writes), with no sleeps.
func TestAuthFlow(t *testing.T) {
	ctx := testCtx(t)
	c := authClient()
	a := register(t, ctx, "flow")
	if a.resp.GetUserId() == "" || a.resp.GetAccessToken() == "" || a.resp.GetRefreshToken() == "" || a.resp.GetExpiresIn() != 900 {
		t.Fatalf("register response incomplete: %+v", a.resp)
	}
	// The read model already has the user when Register returns.
	if n := countRows(t, ctx, `SELECT count(*) FROM users WHERE id = $1 AND username = $2 AND email = $3 AND role = 'player'`,
		a.resp.GetUserId(), a.username, a.email); n != 1 {
		t.Fatalf("users read model has %d rows for the new user, want 1", n)
	}

	for _, id := range []string{a.username, a.email} {
		login, err := c.Login(asNewClient(ctx), &authpb.LoginRequest{Username: id, Password: a.password})
		if err != nil {
			t.Fatalf("login as %q: %v", id, err)
		}
		v, err := c.ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: login.GetAccessToken()})
		if err != nil || !v.GetIsValid() || v.GetUserId() != a.resp.GetUserId() || v.GetRole() != "player" {
			t.Fatalf("validate login token: %+v, %v", v, err)
		}
	}

	ref, err := c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: a.resp.GetRefreshToken()})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if ref.GetRefreshToken() == a.resp.GetRefreshToken() || ref.GetAccessToken() == "" || ref.GetExpiresIn() != 900 {
		t.Fatalf("refresh did not rotate: %+v", ref)
	}
	v, err := c.ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: ref.GetAccessToken()})
	if err != nil || !v.GetIsValid() || v.GetUserId() != a.resp.GetUserId() {
		t.Fatalf("validate refreshed token: %+v, %v", v, err)
	}
}
