package integration

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// Reusing a rotated refresh token after the grace window revokes the whole
// login: the new refresh token and the login's access tokens stop working
// too. It runs on a command target with a 300 ms window.
func TestRefreshRotationAndReuseDetection(t *testing.T) {
	ctx := testCtx(t)
	c := shortGraceAuth(t, 300*time.Millisecond)
	a := register(t, ctx, "rot")
	r1 := a.resp.GetRefreshToken()
	second, err := c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: r1})
	if err != nil {
		t.Fatalf("first refresh: %v", err)
	}
	if v, _ := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: second.GetAccessToken()}); !v.GetIsValid() {
		t.Fatal("fresh access token not valid")
	}

	time.Sleep(500 * time.Millisecond) // past the grace window
	_, err = c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: r1})
	wantCode(t, err, codes.Unauthenticated)
	_, err = c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: second.GetRefreshToken()})
	wantCode(t, err, codes.Unauthenticated)

	// Access tokens of the revoked login are refused once the validator's
	// short revocation cache (50 ms in tests) has expired.
	deadline := time.Now().Add(2 * time.Second)
	for {
		v, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: second.GetAccessToken()})
		if err != nil {
			t.Fatal(err)
		}
		if !v.GetIsValid() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("access token of a revoked login still valid after 2s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Other logins of the same user are untouched.
	login, err := c.Login(asNewClient(ctx), &authpb.LoginRequest{Username: a.username, Password: a.password})
	if err != nil {
		t.Fatalf("login after revocation: %v", err)
	}
	if _, err := c.RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: login.GetRefreshToken()}); err != nil {
		t.Fatalf("refresh in a new login: %v", err)
	}
	// The revocation is on the log for analytics and audits.
	if n := countRevocations(t, a.resp.GetUserId()); n != 1 {
		t.Fatalf("users.revoked_sessions = %d, want 1", n)
	}
}

func countRevocations(t *testing.T, userID string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := countRows(t, testCtx(t), `SELECT revoked_sessions::int FROM users WHERE id = $1`, userID)
		if n > 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRefreshRejectsGarbage(t *testing.T) {
	ctx := testCtx(t)
	for _, tok := range []string{"", "x", "not.a.token", strings.Repeat("a", 300),
		"00000000-0000-0000-0000-000000000000." + strings.Repeat("A", 43)} {
		_, err := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: tok})
		if c := codeOf(err); c != codes.Unauthenticated && c != codes.InvalidArgument {
			t.Fatalf("token %.20q: %v", tok, err)
		}
	}
}

func TestValidateTokenRejectsBadTokens(t *testing.T) {
	ctx := testCtx(t)
	a := register(t, ctx, "vt")
	good := a.resp.GetAccessToken()
	key := env.Cfg.JWTKeys[env.Cfg.JWTActiveKID]
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": a.resp.GetUserId(), "role": "admin", "sid": "00000000-0000-0000-0000-000000000001",
			"iss": env.Cfg.JWTIssuer, "iat": time.Now().Add(-time.Hour).Unix(), "exp": exp.Unix(), "jti": "x"}
	}
	sign := func(m jwt.SigningMethod, c jwt.MapClaims, kid string, k any) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tamperedPayload := strings.Replace(string(payload), `"role":"player"`, `"role":"admin"`, 1)
	cases := []struct{ name, token string }{
		{"expired", sign(jwt.SigningMethodHS256, claims(time.Now().Add(-time.Minute)), "k1", key)},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tamperedPayload)) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"wrong alg HS512", sign(jwt.SigningMethodHS512, claims(time.Now().Add(time.Hour)), "k1", key)},
		{"wrong alg RS256", sign(jwt.SigningMethodRS256, claims(time.Now().Add(time.Hour)), "k1", rsaKey)},
		{"alg none", sign(jwt.SigningMethodNone, claims(time.Now().Add(time.Hour)), "k1", jwt.UnsafeAllowNoneSignatureType)},
		{"unknown kid", sign(jwt.SigningMethodHS256, claims(time.Now().Add(time.Hour)), "k9", key)},
		{"other key", sign(jwt.SigningMethodHS256, claims(time.Now().Add(time.Hour)), "k1", []byte("another secret of 32 bytes......"))},
		{"garbage", "not-a-jwt"},
		{"empty", ""},
	}
	if !strings.Contains(string(payload), `"role":"player"`) {
		t.Fatalf("unexpected payload shape: %s", payload)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: tc.token})
			if err != nil {
				t.Fatalf("ValidateToken returned an error for a bad token: %v", err)
			}
			if v.GetIsValid() || v.GetUserId() != "" {
				t.Fatalf("bad token accepted: %+v", v)
			}
			// The same token is refused as a bearer credential.
			_, err = commonpb.NewGameServiceClient(env.Conn).GetGame(withBearer(ctx, tc.token), &gamepb.GameGetRequest{})
			wantCode(t, err, codes.Unauthenticated)
		})
	}
	// The unmodified token is still valid: the cases above failed for their
	// own reason.
	if v, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: good}); err != nil || !v.GetIsValid() {
		t.Fatalf("good token: %+v %v", v, err)
	}
}

func TestProtectedMethodsNeedAToken(t *testing.T) {
	ctx := testCtx(t)
	_, err := commonpb.NewGameServiceClient(env.Conn).GetGame(ctx, &gamepb.GameGetRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = commonpb.NewGameServiceClient(env.Conn).GetGame(withBearer(ctx, ""), &gamepb.GameGetRequest{})
	wantCode(t, err, codes.Unauthenticated)
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}
