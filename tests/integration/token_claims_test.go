package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// mint signs claims with the platform's active key, as the platform would:
// the tokens below fail (or pass) for their claims alone, not their
// signature.
func mint(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = env.Cfg.JWTActiveKID
	s, err := tok.SignedString(env.Cfg.JWTKeys[env.Cfg.JWTActiveKID])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loginOf is the login id (claim sid) of an access token the platform issued.
func loginOf(t *testing.T, access string) string {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(access, claims); err != nil {
		t.Fatal(err)
	}
	sid, _ := claims["sid"].(string)
	if sid == "" {
		t.Fatalf("access token without sid: %v", claims)
	}
	return sid
}

// claimsOf returns claims like the platform's for a's login, changed by f.
func claimsOf(a account, loginID string, f func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": a.resp.GetUserId(), "role": "player", "sid": loginID,
		"iss": env.Cfg.JWTIssuer, "aud": env.Cfg.JWTAudience, "jti": uuid.NewString(),
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if f != nil {
		f(c)
	}
	return c
}

// accepted reports how the platform treats token: through ValidateToken and
// as the bearer of a protected call. The two must agree.
func accepted(t *testing.T, token string) bool {
	t.Helper()
	ctx := testCtx(t)
	v, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: token})
	if err != nil {
		t.Fatalf("ValidateToken: %v", err)
	}
	_, err = commonpb.NewGameServiceClient(env.Conn).GetGame(withBearer(ctx, token), &gamepb.GameGetRequest{})
	asBearer := codeOf(err) != codes.Unauthenticated
	if asBearer != v.GetIsValid() {
		t.Fatalf("ValidateToken says valid=%v, the bearer check %v (%v)", v.GetIsValid(), asBearer, err)
	}
	return v.GetIsValid()
}

// Access tokens carry an audience, which is checked; iat and nbf tolerate
// a little clock skew between processes (30 s), no more. A token without
// aud (as issued before aud existed) is refused.
func TestAccessTokenAudienceAndClockLeeway(t *testing.T) {
	a := register(t, testCtx(t), "aud")
	if !accepted(t, a.resp.GetAccessToken()) {
		t.Fatal("the platform's own token is refused")
	}
	login := loginOf(t, a.resp.GetAccessToken())
	at := func(d time.Duration) int64 { return time.Now().Add(d).Unix() }
	cases := []struct {
		name string
		edit func(jwt.MapClaims)
		ok   bool
	}{
		{"as issued", nil, true},
		{"aud as a list", func(c jwt.MapClaims) { c["aud"] = []string{"other.example", env.Cfg.JWTAudience} }, true},
		{"no aud", func(c jwt.MapClaims) { delete(c, "aud") }, false},
		{"empty aud", func(c jwt.MapClaims) { c["aud"] = "" }, false},
		{"other aud", func(c jwt.MapClaims) { c["aud"] = "other.example" }, false},
		{"iat 15s ahead", func(c jwt.MapClaims) { c["iat"] = at(15 * time.Second) }, true},
		{"iat 2m ahead", func(c jwt.MapClaims) { c["iat"] = at(2 * time.Minute) }, false},
		{"nbf 15s ahead", func(c jwt.MapClaims) { c["nbf"] = at(15 * time.Second) }, true},
		{"nbf 2m ahead", func(c jwt.MapClaims) { c["nbf"] = at(2 * time.Minute) }, false},
		// Skew never extends a token: exp is exact.
		{"expired 5s ago", func(c jwt.MapClaims) { c["exp"] = at(-5 * time.Second) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := accepted(t, mint(t, claimsOf(a, login, tc.edit))); got != tc.ok {
				t.Fatalf("accepted = %v, want %v", got, tc.ok)
			}
		})
	}
}

// A correctly signed token naming a login the platform never started (or
// no longer knows) is refused: "not revoked" needs a known login.
func TestAccessTokenOfUnknownLoginIsRefused(t *testing.T) {
	a := register(t, testCtx(t), "unk")
	login := loginOf(t, a.resp.GetAccessToken())
	if !accepted(t, mint(t, claimsOf(a, login, nil))) {
		t.Fatal("control: a token of the account's real login is refused")
	}
	for name, sid := range map[string]string{
		"never started":  uuid.NewString(),
		"not a login id": "s1",
	} {
		t.Run(name, func(t *testing.T) {
			if accepted(t, mint(t, claimsOf(a, sid, nil))) {
				t.Fatalf("token of login %q accepted", sid)
			}
		})
	}
}

// The bearer token is bounded (4 KiB): a longer one is refused before it is
// parsed, even if it is otherwise valid.
func TestBearerTokenLengthIsBounded(t *testing.T) {
	a := register(t, testCtx(t), "len")
	login := loginOf(t, a.resp.GetAccessToken())
	padded := func(n int) string {
		return mint(t, claimsOf(a, login, func(c jwt.MapClaims) { c["pad"] = strings.Repeat("p", n) }))
	}
	short, long := padded(2000), padded(4000)
	if len(short) > 4096 || len(long) <= 4096 {
		t.Fatalf("token sizes %d and %d do not straddle 4096", len(short), len(long))
	}
	if !accepted(t, short) {
		t.Fatal("a valid token under the bound is refused")
	}
	_, err := commonpb.NewGameServiceClient(env.Conn).GetGame(withBearer(testCtx(t), long), &gamepb.GameGetRequest{})
	st := wantCode(t, err, codes.Unauthenticated)
	if !strings.Contains(st.Message(), "longer than") {
		t.Fatalf("message %q does not say why", st.Message())
	}
	if accepted(t, long) {
		t.Fatal("a token over the bound is accepted")
	}
}
