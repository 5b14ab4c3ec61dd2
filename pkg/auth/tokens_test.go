package auth

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "oof.test"
	testAudience = "oof.test.api"
	testLeeway   = 30 * time.Second
)

// clock is an injectable, race-safe time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

func mustRing(t *testing.T, keys map[string][]byte, active string) *Keyring {
	t.Helper()
	r, err := NewKeyring(keys, active)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return r
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, &AccessClaims{})
	if err != nil {
		t.Fatalf("parse header: %v", err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func TestIssueVerifyClaims(t *testing.T) {
	clk := newClock()
	ring := mustRing(t, map[string][]byte{"k1": key1}, "k1")
	iss := NewTokenIssuer(ring, testIssuer, testAudience, 15*time.Minute, clk.Now)
	ver := NewTokenVerifier(ring, testIssuer, testAudience, testLeeway, clk.Now)
	if iss.TTL() != 15*time.Minute {
		t.Fatalf("TTL() = %v", iss.TTL())
	}
	for _, role := range []string{RolePlayer, RoleDeveloper, RoleAdmin, RoleService} {
		t.Run(role, func(t *testing.T) {
			tok, err := iss.Issue("user-1", role, "sess-1")
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			c, err := ver.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != "user-1" || c.Role != role || c.LoginID != "sess-1" || len(c.Audience) != 1 || c.Audience[0] != testAudience || c.Issuer != testIssuer {
				t.Fatalf("claims = %+v", c)
			}
			if c.ID == "" {
				t.Fatal("jti is empty")
			}
			if !c.IssuedAt.Time.Equal(clk.Now()) {
				t.Fatalf("iat = %v, want %v", c.IssuedAt.Time, clk.Now())
			}
			if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != 15*time.Minute {
				t.Fatalf("exp - iat = %v, want 15m", got)
			}
			if kid := kidOf(t, tok); kid != "k1" {
				t.Fatalf("kid = %q, want k1", kid)
			}
		})
	}
	a, _ := iss.Issue("u", RolePlayer, "s")
	b, _ := iss.Issue("u", RolePlayer, "s")
	ca, _ := ver.Verify(a)
	cb, _ := ver.Verify(b)
	if ca.ID == cb.ID {
		t.Fatalf("two tokens share jti %q", ca.ID)
	}
}

func TestVerifyExpiryUsesInjectedClock(t *testing.T) {
	ring := mustRing(t, map[string][]byte{"k1": key1}, "k1")
	cases := []struct {
		name    string
		advance time.Duration
		ok      bool
	}{
		{"fresh", 0, true},
		{"one second before expiry", time.Minute - time.Second, true},
		{"at expiry", time.Minute, false},
		{"long after expiry", 24 * time.Hour, false},
		{"issued in the future", -time.Hour, false},
		// The signer's clock may run ahead of the checker's by the leeway.
		{"issued within the leeway ahead", -testLeeway + time.Second, true},
		{"issued just past the leeway ahead", -testLeeway - time.Second, false},
		// exp takes no leeway: skew never extends a token's life.
		{"just after expiry", time.Minute + time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			tok, err := NewTokenIssuer(ring, testIssuer, testAudience, time.Minute, clk.Now).Issue("u", RolePlayer, "s")
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.advance)
			_, err = NewTokenVerifier(ring, testIssuer, testAudience, testLeeway, clk.Now).Verify(tok)
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify err = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	clk := newClock()
	before := mustRing(t, map[string][]byte{"k1": key1}, "k1")
	during := mustRing(t, map[string][]byte{"k1": key1, "k2": key2}, "k2")
	after := mustRing(t, map[string][]byte{"k2": key2}, "k2")

	oldTok, err := NewTokenIssuer(before, testIssuer, testAudience, time.Hour, clk.Now).Issue("u", RolePlayer, "s")
	if err != nil {
		t.Fatal(err)
	}
	newTok, err := NewTokenIssuer(during, testIssuer, testAudience, time.Hour, clk.Now).Issue("u", RolePlayer, "s")
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, oldTok) != "k1" || kidOf(t, newTok) != "k2" {
		t.Fatalf("kids = %q, %q; want k1, k2", kidOf(t, oldTok), kidOf(t, newTok))
	}
	cases := []struct {
		name  string
		ring  *Keyring
		token string
		ok    bool
	}{
		{"old token, old ring", before, oldTok, true},
		{"old token, both keys", during, oldTok, true},
		{"old token, old key dropped", after, oldTok, false},
		{"new token, both keys", during, newTok, true},
		{"new token, new key only", after, newTok, true},
		{"new token, ring without new key", before, newTok, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTokenVerifier(tc.ring, testIssuer, testAudience, testLeeway, clk.Now).Verify(tc.token)
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify err = %v, want ErrInvalidToken", err)
			}
		})
	}
}

// forge signs arbitrary claims/headers, as an attacker or a buggy issuer would.
func forge(t *testing.T, m jwt.SigningMethod, kid any, key any, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != nil {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func TestVerifyRejects(t *testing.T) {
	clk := newClock()
	ring := mustRing(t, map[string][]byte{"k1": key1}, "k1")
	ver := NewTokenVerifier(ring, testIssuer, testAudience, testLeeway, clk.Now)
	now := clk.Now()
	valid := func() AccessClaims {
		return AccessClaims{Role: RolePlayer, LoginID: "s", RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Audience: jwt.ClaimStrings{testAudience}, Subject: "u", ID: "j",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		}}
	}
	with := func(f func(*AccessClaims)) AccessClaims { c := valid(); f(&c); return c }

	// Sanity: the forger produces a token the verifier accepts.
	if _, err := ver.Verify(forge(t, jwt.SigningMethodHS256, "k1", key1, valid())); err != nil {
		t.Fatalf("control token rejected: %v", err)
	}
	good, _ := NewTokenIssuer(ring, testIssuer, testAudience, time.Hour, clk.Now).Issue("u", RolePlayer, "s")
	parts := strings.Split(good, ".")

	cases := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not.a.jwt"},
		{"HS512 with a ring key", forge(t, jwt.SigningMethodHS512, "k1", key1, valid())},
		{"HS384 with a ring key", forge(t, jwt.SigningMethodHS384, "k1", key1, valid())},
		{"alg none", forge(t, jwt.SigningMethodNone, "k1", jwt.UnsafeAllowNoneSignatureType, valid())},
		{"unknown kid", forge(t, jwt.SigningMethodHS256, "k9", key1, valid())},
		{"missing kid", forge(t, jwt.SigningMethodHS256, nil, key1, valid())},
		{"kid not a string", forge(t, jwt.SigningMethodHS256, 1, key1, valid())},
		{"signed with another key", forge(t, jwt.SigningMethodHS256, "k1", key2, valid())},
		{"tampered payload", parts[0] + "." + forgePayload(t, with(func(c *AccessClaims) { c.Role = RoleAdmin })) + "." + parts[2]},
		{"signature stripped", parts[0] + "." + parts[1] + "."},
		{"missing sub", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Subject = "" }))},
		{"missing sid", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.LoginID = "" }))},
		{"missing role", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Role = "" }))},
		{"invalid role", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Role = "superuser" }))},
		{"role wrong case", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Role = "Admin" }))},
		{"missing exp", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.ExpiresAt = nil }))},
		{"expired", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) }))},
		{"missing iss", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Issuer = "" }))},
		{"other iss", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Issuer = "evil.example" }))},
		{"iat in the future", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) }))},
		{"not yet valid", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) }))},
		{"missing aud", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Audience = nil }))},
		{"other aud", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.Audience = jwt.ClaimStrings{"other.example"} }))},
		{"over the size bound", forge(t, jwt.SigningMethodHS256, "k1", key1, with(func(c *AccessClaims) { c.ID = strings.Repeat("j", MaxAccessTokenBytes) }))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ver.Verify(tc.token)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = (%+v, %v), want ErrInvalidToken", c, err)
			}
			if c != nil {
				t.Fatalf("claims returned with error: %+v", c)
			}
		})
	}
}

// forgePayload returns the base64url JSON segment of claims.
func forgePayload(t *testing.T, claims AccessClaims) string {
	t.Helper()
	s := forge(t, jwt.SigningMethodHS256, "k1", key2, claims)
	return strings.Split(s, ".")[1]
}

func TestNewKeyring(t *testing.T) {
	t.Run("no keys makes a dev key", func(t *testing.T) {
		r1 := mustRing(t, nil, "")
		r2 := mustRing(t, map[string][]byte{}, "")
		if r1.active != "dev" || len(r1.keys["dev"]) != 32 {
			t.Fatalf("dev ring = active %q, %d-byte key", r1.active, len(r1.keys["dev"]))
		}
		if bytes.Equal(r1.keys["dev"], r2.keys["dev"]) {
			t.Fatal("two dev keys are equal; want random")
		}
		if bytes.Equal(r1.keys["dev"], make([]byte, 32)) {
			t.Fatal("dev key is all zeros")
		}
		clk := newClock()
		tok, err := NewTokenIssuer(r1, testIssuer, testAudience, time.Minute, clk.Now).Issue("u", RolePlayer, "s")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewTokenVerifier(r1, testIssuer, testAudience, testLeeway, clk.Now).Verify(tok); err != nil {
			t.Fatalf("dev-key token does not verify: %v", err)
		}
		if _, err := NewTokenVerifier(r2, testIssuer, testAudience, testLeeway, clk.Now).Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("token verified under another process's dev key: %v", err)
		}
	})
	errCases := []struct {
		name   string
		keys   map[string][]byte
		active string
	}{
		{"active kid not in ring", map[string][]byte{"k1": key1}, "k2"},
		{"empty active kid", map[string][]byte{"k1": key1}, ""},
		{"active kid differs in case", map[string][]byte{"k1": key1}, "K1"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := NewKeyring(tc.keys, tc.active); err == nil {
				t.Fatalf("NewKeyring = %+v, want error", r)
			}
		})
	}
}

// A verifier remembers tokens that passed; the memory must not outlive the
// token (exp is checked on every hit) nor accept anything but the same
// token.
func TestVerifiedTokenCache(t *testing.T) {
	ring := mustRing(t, map[string][]byte{"k1": key1}, "k1")
	clk := newClock()
	tok, err := NewTokenIssuer(ring, testIssuer, testAudience, time.Minute, clk.Now).Issue("u", RolePlayer, "s")
	if err != nil {
		t.Fatal(err)
	}
	v := NewTokenVerifier(ring, testIssuer, testAudience, testLeeway, clk.Now)
	for i := range 2 { // the second call is answered from memory
		c, err := v.Verify(tok)
		if err != nil || c.Subject != "u" || c.LoginID != "s" {
			t.Fatalf("Verify #%d: %+v, %v", i+1, c, err)
		}
	}
	// One changed signature byte is another token: parsed, and refused.
	tampered := tok[:len(tok)-2] + string("AB"[len(tok)%2]) + tok[len(tok)-1:]
	if tampered == tok {
		tampered = tok[:len(tok)-2] + "C" + tok[len(tok)-1:]
	}
	if _, err := v.Verify(tampered); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("tampered token: %v, want ErrInvalidToken", err)
	}
	clk.Advance(time.Minute)
	if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("remembered token after its expiry: %v, want ErrInvalidToken", err)
	}
}
