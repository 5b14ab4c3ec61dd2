package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/redisx"
)

// A login is one sign-in of a user: its refresh tokens form a "family" and
// its access tokens carry its id (claim "sid"). Refresh tokens are opaque:
// "<login id>.<32 random bytes, base64url>". Only their SHA-256 is stored.
// All keys of one login share a Redis hash tag, so rotation is one atomic
// script even on a cluster.
//
// Each use rotates the token: the presented one is marked used and a new one
// is issued. Within a short grace window after that, the used token still
// answers with the same successor (two tabs refreshing at once, a response
// lost on the way); after the window, presenting it again means it leaked,
// so the whole family is revoked, and access tokens of the login stop
// validating too.
//
// Keys of a login: the login itself (its user, for as long as one of its
// tokens can live), one hash per refresh token, and a revocation marker.

var (
	ErrRefreshInvalid = errors.New("refresh token is not valid")
	ErrRefreshReused  = errors.New("refresh token was already used; login revoked")
)

// RefreshStore keeps logins and their refresh-token families in Redis.
type RefreshStore struct {
	rdb   *redis.Client
	keys  redisx.Keys
	ttl   time.Duration
	grace time.Duration
}

// NewRefreshStore returns a store whose tokens live for ttl and whose used
// tokens are still answered for grace after their rotation.
func NewRefreshStore(rdb *redis.Client, keys redisx.Keys, ttl, grace time.Duration) *RefreshStore {
	return &RefreshStore{rdb: rdb, keys: keys, ttl: ttl, grace: grace}
}

// RefreshGrant is who a refresh token belongs to.
type RefreshGrant struct {
	UserID  string
	LoginID string
}

// Rotation is the outcome of presenting a refresh token.
type Rotation struct {
	Next  string // the successor token
	Grant RefreshGrant
	// Replayed: the token had already been rotated within the grace window
	// and Next is the successor handed out then.
	Replayed bool
}

func (s *RefreshStore) tokenKey(loginID, token string) string {
	sum := sha256.Sum256([]byte(token))
	return s.keys.Key("rt", "{"+loginID+"}", hex.EncodeToString(sum[:]))
}

// revokedKey marks a revoked family (its name predates "login").
func (s *RefreshStore) revokedKey(loginID string) string {
	return s.keys.Key("rtfam", "{"+loginID+"}")
}

func (s *RefreshStore) loginKey(loginID string) string {
	return s.keys.Key("login", "{"+loginID+"}")
}

const secretLen = 32

func newSecret() ([]byte, error) {
	secret := make([]byte, secretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("read token secret: %w", err)
	}
	return secret, nil
}

func formatToken(loginID string, secret []byte) string {
	return loginID + "." + base64.RawURLEncoding.EncodeToString(secret)
}

// successorPad is the one-time pad that seals a token's successor in the
// token's record. It derives from the token itself, which Redis never
// holds, so the record alone does not give the successor away: only who
// presents the old token can open it.
func successorPad(token string) [32]byte {
	return sha256.Sum256([]byte("oof refresh successor\x00" + token))
}

func sealSuccessor(token string, secret []byte) string {
	pad := successorPad(token)
	out := make([]byte, secretLen)
	for i := range out {
		out[i] = secret[i] ^ pad[i]
	}
	return base64.RawStdEncoding.EncodeToString(out)
}

func openSuccessor(token, loginID, sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(raw) != secretLen {
		return "", fmt.Errorf("malformed sealed successor")
	}
	pad := successorPad(token)
	for i := range raw {
		raw[i] ^= pad[i]
	}
	return formatToken(loginID, raw), nil
}

// parseToken extracts the login id, rejecting anything malformed before it
// is used to build a key.
func parseToken(token string) (string, bool) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) != 43 {
		return "", false
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", false
	}
	return id, true
}

// Start opens a new login for userID and returns its first token.
func (s *RefreshStore) Start(ctx context.Context, userID string) (token string, loginID string, err error) {
	loginID = uuid.NewString()
	secret, err := newSecret()
	if err != nil {
		return "", "", err
	}
	token = formatToken(loginID, secret)
	key := s.tokenKey(loginID, token)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "uid", userID, "state", "active")
		p.PExpire(ctx, key, s.ttl)
		p.Set(ctx, s.loginKey(loginID), userID, s.ttl)
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("store refresh token: %w", err)
	}
	return token, loginID, nil
}

// Owner returns who token belongs to without using it, so a caller can
// check the account before the token is spent. It does not say whether the
// token may still be rotated.
func (s *RefreshStore) Owner(ctx context.Context, token string) (RefreshGrant, error) {
	id, ok := parseToken(token)
	if !ok {
		return RefreshGrant{}, ErrRefreshInvalid
	}
	uid, err := s.rdb.HGet(ctx, s.tokenKey(id, token), "uid").Result()
	if errors.Is(err, redis.Nil) {
		return RefreshGrant{}, ErrRefreshInvalid
	}
	if err != nil {
		return RefreshGrant{}, fmt.Errorf("read refresh token: %w", err)
	}
	return RefreshGrant{UserID: uid, LoginID: id}, nil
}

// rotateScript: KEYS = presented token, successor, revocation marker, login.
// ARGV = ttl ms, grace ms, sealed successor secret. Returns {status, uid,
// sealed successor (grace only)}. The clock is Redis's, so replicas with
// skewed clocks agree on the window.
var rotateScript = redis.NewScript(`
local uid = redis.call('HGET', KEYS[1], 'uid')
if not uid then return {'missing', '', ''} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'revoked', uid, ''} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local grace = tonumber(ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'active' then
  redis.call('HSET', KEYS[1], 'state', 'used', 'next', ARGV[3], 'rotated', now)
  if redis.call('PTTL', KEYS[1]) < grace then redis.call('PEXPIRE', KEYS[1], grace) end
  redis.call('HSET', KEYS[2], 'uid', uid, 'state', 'active')
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  redis.call('SET', KEYS[4], uid, 'PX', ARGV[1])
  return {'ok', uid, ''}
end
local rotated = tonumber(redis.call('HGET', KEYS[1], 'rotated'))
local sealed = redis.call('HGET', KEYS[1], 'next')
if rotated and sealed and now - rotated <= grace then
  return {'grace', uid, sealed}
end
redis.call('SET', KEYS[3], 'reuse', 'PX', ARGV[1])
return {'reuse', uid, ''}
`)

// Rotate exchanges token for its successor. ErrRefreshReused means the
// family is now revoked; ErrRefreshInvalid covers unknown, expired and
// revoked tokens. Within the grace window a used token gets the successor
// it got the first time (Replayed), however often it is presented.
func (s *RefreshStore) Rotate(ctx context.Context, token string) (Rotation, error) {
	id, ok := parseToken(token)
	if !ok {
		return Rotation{}, ErrRefreshInvalid
	}
	secret, err := newSecret()
	if err != nil {
		return Rotation{}, err
	}
	next := formatToken(id, secret)
	res, err := rotateScript.Run(ctx, s.rdb,
		[]string{s.tokenKey(id, token), s.tokenKey(id, next), s.revokedKey(id), s.loginKey(id)},
		s.ttl.Milliseconds(), s.grace.Milliseconds(), sealSuccessor(token, secret)).StringSlice()
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	if len(res) != 3 {
		return Rotation{}, fmt.Errorf("rotate refresh token: unexpected answer %q", res)
	}
	r := Rotation{Grant: RefreshGrant{UserID: res[1], LoginID: id}}
	switch res[0] {
	case "ok":
		r.Next = next
		return r, nil
	case "grace":
		if r.Next, err = openSuccessor(token, id, res[2]); err != nil {
			return Rotation{}, fmt.Errorf("rotate refresh token: %w", err)
		}
		r.Replayed = true
		return r, nil
	case "reuse":
		return r, ErrRefreshReused
	default:
		return r, ErrRefreshInvalid
	}
}

// Revoked reports whether a login may no longer be used: it was revoked,
// or it is not known at all (never started here, or every token of it has
// expired). An unknown login is never "not revoked".
func (s *RefreshStore) Revoked(ctx context.Context, loginID string) (bool, error) {
	if _, err := uuid.Parse(loginID); err != nil {
		return true, nil // not an id this store issues
	}
	vals, err := s.rdb.MGet(ctx, s.revokedKey(loginID), s.loginKey(loginID)).Result()
	if err != nil {
		return false, fmt.Errorf("check login revocation: %w", err)
	}
	return vals[0] != nil || vals[1] == nil, nil
}
