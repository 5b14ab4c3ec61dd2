package integration

import (
	"testing"

	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	"github.com/oof-gg/platform/tests/harness"
)

func TestTwitchLogin(t *testing.T) {
	ctx := testCtx(t)
	c := authClient()
	twitchID := harness.RandomID(6)
	login := "Streamer_" + harness.RandomID(3)
	token := "helix-" + harness.RandomID(8)
	env.Twitch.AddToken(token, harness.TwitchToken{ClientID: "app-1", Login: login, UserID: twitchID})

	first, err := c.TwitchLogin(asNewClient(ctx), &authpb.TwitchLoginRequest{HelixToken: token, ClientId: "app-1", UserId: twitchID})
	if err != nil {
		t.Fatalf("first twitch login: %v", err)
	}
	v1, err := c.ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: first.GetAccessToken()})
	if err != nil || !v1.GetIsValid() {
		t.Fatalf("twitch token not valid: %+v %v", v1, err)
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM users WHERE id = $1 AND twitch_user_id = $2 AND username = $3 AND auth_method = 'twitch'`,
		v1.GetUserId(), twitchID, login); n != 1 {
		t.Fatalf("users read model has %d linked rows, want 1", n)
	}

	again, err := c.TwitchLogin(asNewClient(ctx), &authpb.TwitchLoginRequest{HelixToken: token, ClientId: "app-1", UserId: twitchID})
	if err != nil {
		t.Fatalf("second twitch login: %v", err)
	}
	v2, _ := c.ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: again.GetAccessToken()})
	if v2.GetUserId() != v1.GetUserId() {
		t.Fatalf("second login made another account: %s vs %s", v2.GetUserId(), v1.GetUserId())
	}

	cases := []struct {
		name string
		req  *authpb.TwitchLoginRequest
		want codes.Code
	}{
		{"unknown token", &authpb.TwitchLoginRequest{HelixToken: "nope", ClientId: "app-1", UserId: twitchID}, codes.Unauthenticated},
		{"other client id", &authpb.TwitchLoginRequest{HelixToken: token, ClientId: "app-2", UserId: twitchID}, codes.Unauthenticated},
		{"other user id", &authpb.TwitchLoginRequest{HelixToken: token, ClientId: "app-1", UserId: "999"}, codes.Unauthenticated},
		{"missing fields", &authpb.TwitchLoginRequest{}, codes.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.TwitchLogin(asNewClient(ctx), tc.req)
			wantCode(t, err, tc.want)
		})
	}
}

// A signed-in user presenting a Twitch token links it to their account.
func TestTwitchLinksToSignedInAccount(t *testing.T) {
	ctx := testCtx(t)
	a := register(t, ctx, "link")
	twitchID, token := harness.RandomID(6), "helix-"+harness.RandomID(8)
	env.Twitch.AddToken(token, harness.TwitchToken{ClientID: "app-1", Login: "someone", UserID: twitchID})
	resp, err := authClient().TwitchLogin(withBearer(asNewClient(ctx), a.resp.GetAccessToken()),
		&authpb.TwitchLoginRequest{HelixToken: token, ClientId: "app-1", UserId: twitchID})
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	v, _ := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: resp.GetAccessToken()})
	if v.GetUserId() != a.resp.GetUserId() {
		t.Fatalf("linked login is user %s, want %s", v.GetUserId(), a.resp.GetUserId())
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM users WHERE id = $1 AND twitch_user_id = $2`, a.resp.GetUserId(), twitchID); n != 1 {
		t.Fatal("read model does not show the link")
	}
}

func TestTwitchDownIsUnavailable(t *testing.T) {
	ctx := testCtx(t)
	token := "helix-" + harness.RandomID(8)
	env.Twitch.AddToken(token, harness.TwitchToken{ClientID: "app-1", Login: "x", UserID: "1"})
	env.Twitch.SetDown(true)
	defer env.Twitch.SetDown(false)
	_, err := authClient().TwitchLogin(asNewClient(ctx), &authpb.TwitchLoginRequest{HelixToken: token, ClientId: "app-1", UserId: "1"})
	wantCode(t, err, codes.Unavailable)
}
