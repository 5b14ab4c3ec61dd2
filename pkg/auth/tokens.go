package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Keyring holds the HMAC keys for access tokens. Tokens are signed with the
// active key; any key still in the ring verifies, which is how keys rotate:
// add the new key, make it active, drop the old one after one token lifetime.
type Keyring struct {
	keys   map[string][]byte
	active string
}

// NewKeyring checks that active names a key of keys. With no keys at all it
// makes a random one (single-process development only: other processes
// would not share it).
func NewKeyring(keys map[string][]byte, active string) (*Keyring, error) {
	if len(keys) == 0 && active != "" {
		return nil, fmt.Errorf("active key %q given but the keyring is empty", active)
	}
	if len(keys) == 0 {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("generate dev jwt key: %w", err)
		}
		keys, active = map[string][]byte{"dev": secret}, "dev"
	}
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("active key %q is not in the keyring", active)
	}
	return &Keyring{keys: keys, active: active}, nil
}

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	Role string `json:"role"`
	// LoginID is the login (refresh-token family) the token was issued in.
	// The claim keeps its wire name "sid"; it is not a game session.
	LoginID string `json:"sid"`
	jwt.RegisteredClaims
}

// MaxAccessTokenBytes bounds an access token: ours are a few hundred bytes,
// and anything far larger is refused before it is parsed.
const MaxAccessTokenBytes = 4096

// TokenIssuer signs access tokens.
type TokenIssuer struct {
	ring     *Keyring
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewTokenIssuer returns an issuer of tokens for audience, valid for ttl.
func NewTokenIssuer(ring *Keyring, issuer, audience string, ttl time.Duration, now func() time.Time) *TokenIssuer {
	return &TokenIssuer{ring: ring, issuer: issuer, audience: audience, ttl: ttl, now: now}
}

// TTL is the lifetime of issued tokens.
func (i *TokenIssuer) TTL() time.Duration { return i.ttl }

// Issue signs an access token for the user in the given login.
func (i *TokenIssuer) Issue(userID, role, loginID string) (string, error) {
	now := i.now()
	claims := AccessClaims{
		Role:    role,
		LoginID: loginID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Audience:  jwt.ClaimStrings{i.audience},
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(i.ttl)),
			ID:        uuid.NewString(),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = i.ring.active
	signed, err := tok.SignedString(i.ring.keys[i.ring.active])
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}

// ErrInvalidToken covers every reason a token is not accepted.
var ErrInvalidToken = errors.New("invalid access token")

// TokenVerifier checks access-token signatures and claims (not revocation).
type TokenVerifier struct {
	ring   *Keyring
	parser *jwt.Parser
	now    func() time.Time

	// verified remembers the claims of tokens that passed, keyed by the
	// whole token: a client sends the same token with every call until it
	// expires, and parsing and checking its signature again was a tenth
	// of the CPU of a small command. Only exp can change a verified
	// token's answer, and it is checked on every hit.
	mu       sync.RWMutex
	verified map[string]*AccessClaims
}

// maxVerifiedTokens bounds the verified-token memory (~0.5 KiB a token);
// past it the cache is dropped wholesale, which only costs re-parsing.
const maxVerifiedTokens = 50_000

// NewTokenVerifier pins the algorithm to HS256 so a token cannot choose how
// it is verified ("none", RS/HS confusion), and requires issuer and
// audience: a token without aud (issued before aud existed, or for another
// service sharing the key) is refused. leeway tolerates clock skew between
// the signing and the checking process for iat and nbf; exp is exact, so
// skew can only shorten a token's life, never extend it.
func NewTokenVerifier(ring *Keyring, issuer, audience string, leeway time.Duration, now func() time.Time) *TokenVerifier {
	return &TokenVerifier{ring: ring, now: now, verified: map[string]*AccessClaims{}, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	)}
}

// Verify parses and checks token, returning its claims.
func (v *TokenVerifier) Verify(token string) (*AccessClaims, error) {
	if len(token) > MaxAccessTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxAccessTokenBytes)
	}
	v.mu.RLock()
	claims, ok := v.verified[token]
	v.mu.RUnlock()
	if ok {
		if !v.now().Before(claims.ExpiresAt.Time) {
			return nil, fmt.Errorf("%w: token is expired", ErrInvalidToken)
		}
		return claims, nil
	}
	claims = &AccessClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := v.ring.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	// The parser's leeway applies to exp as well; take it back here.
	if !v.now().Before(claims.ExpiresAt.Time) {
		return nil, fmt.Errorf("%w: token is expired", ErrInvalidToken)
	}
	if claims.Subject == "" || claims.LoginID == "" || !ValidRole(claims.Role) {
		return nil, fmt.Errorf("%w: missing claims", ErrInvalidToken)
	}
	v.mu.Lock()
	if len(v.verified) >= maxVerifiedTokens {
		v.verified = map[string]*AccessClaims{}
	}
	v.verified[token] = claims
	v.mu.Unlock()
	return claims, nil
}
