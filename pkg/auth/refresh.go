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

// Refresh tokens are opaque: "<session id>.<32 random bytes, base64url>".
// Only their SHA-256 is stored. All tokens of one login session (a "family")
// share a Redis hash tag, so rotation is one atomic script even on a cluster.
//
// Each use rotates the token: the presented one is marked used and a new one
// is issued. Presenting a used token again means it leaked, so the whole
// family is revoked; access tokens of a revoked family stop validating too.

var (
	ErrRefreshInvalid = errors.New("refresh token is not valid")
	ErrRefreshReused  = errors.New("refresh token was already used; session revoked")
)

// RefreshStore keeps refresh-token families in Redis.
type RefreshStore struct {
	rdb  *redis.Client
	keys redisx.Keys
	ttl  time.Duration
}

// NewRefreshStore returns a store whose tokens live for ttl.
func NewRefreshStore(rdb *redis.Client, keys redisx.Keys, ttl time.Duration) *RefreshStore {
	return &RefreshStore{rdb: rdb, keys: keys, ttl: ttl}
}

// RefreshGrant is who a refresh token belongs to.
type RefreshGrant struct {
	UserID    string
	SessionID string
}

func (s *RefreshStore) tokenKey(sessionID, token string) string {
	sum := sha256.Sum256([]byte(token))
	return s.keys.Key("rt", "{"+sessionID+"}", hex.EncodeToString(sum[:]))
}

func (s *RefreshStore) familyKey(sessionID string) string {
	return s.keys.Key("rtfam", "{"+sessionID+"}")
}

func newToken(sessionID string) (string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("read token secret: %w", err)
	}
	return sessionID + "." + base64.RawURLEncoding.EncodeToString(secret), nil
}

// parseToken extracts the session id, rejecting anything malformed before it
// is used to build a key.
func parseToken(token string) (string, bool) {
	sid, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) != 43 {
		return "", false
	}
	if _, err := uuid.Parse(sid); err != nil {
		return "", false
	}
	return sid, true
}

// Start opens a new login session for userID and returns its first token.
func (s *RefreshStore) Start(ctx context.Context, userID string) (token string, sessionID string, err error) {
	sessionID = uuid.NewString()
	token, err = newToken(sessionID)
	if err != nil {
		return "", "", err
	}
	key := s.tokenKey(sessionID, token)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "uid", userID, "state", "active")
		p.PExpire(ctx, key, s.ttl)
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("store refresh token: %w", err)
	}
	return token, sessionID, nil
}

// rotateScript: KEYS = old token, new token, family. ARGV = ttl ms.
// Returns {status, uid}.
var rotateScript = redis.NewScript(`
local uid = redis.call('HGET', KEYS[1], 'uid')
if not uid then return {'missing', ''} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'revoked', uid} end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'active' then
  redis.call('SET', KEYS[3], 'reuse', 'PX', ARGV[1])
  return {'reuse', uid}
end
redis.call('HSET', KEYS[1], 'state', 'used')
redis.call('HSET', KEYS[2], 'uid', uid, 'state', 'active')
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {'ok', uid}
`)

// Rotate exchanges token for a new one. ErrRefreshReused means the family is
// now revoked; ErrRefreshInvalid covers unknown, expired and revoked tokens.
func (s *RefreshStore) Rotate(ctx context.Context, token string) (next string, grant RefreshGrant, err error) {
	sid, ok := parseToken(token)
	if !ok {
		return "", RefreshGrant{}, ErrRefreshInvalid
	}
	next, err = newToken(sid)
	if err != nil {
		return "", RefreshGrant{}, err
	}
	res, err := rotateScript.Run(ctx, s.rdb,
		[]string{s.tokenKey(sid, token), s.tokenKey(sid, next), s.familyKey(sid)},
		s.ttl.Milliseconds()).StringSlice()
	if err != nil {
		return "", RefreshGrant{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	grant = RefreshGrant{UserID: res[1], SessionID: sid}
	switch res[0] {
	case "ok":
		return next, grant, nil
	case "reuse":
		return "", grant, ErrRefreshReused
	default:
		return "", grant, ErrRefreshInvalid
	}
}

// Revoked reports whether a login session has been revoked.
func (s *RefreshStore) Revoked(ctx context.Context, sessionID string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.familyKey(sessionID)).Result()
	if err != nil {
		return false, fmt.Errorf("check session revocation: %w", err)
	}
	return n == 1, nil
}
