package auth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RevocationChecker tells whether a login may still be used. It must know
// the login: one it never started (or that expired) counts as revoked, so a
// validly signed token naming a made-up login is refused.
type RevocationChecker interface {
	Revoked(ctx context.Context, loginID string) (bool, error)
}

// Validator turns an access token into a Principal: signature, claims and
// the login's revocation. A "not revoked" answer is cached for a short,
// bounded time so validation stays CPU-bound; "revoked" (which includes
// "unknown") is final and cached until the process forgets it.
type Validator struct {
	verifier *TokenVerifier
	revoked  RevocationChecker
	cacheTTL time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]revocationEntry
}

type revocationEntry struct {
	revoked   bool
	checkedAt time.Time
}

// maxCacheEntries bounds memory: the cache is dropped wholesale past it,
// which only costs extra Redis lookups.
const maxCacheEntries = 200_000

// NewValidator returns a validator; cacheTTL 0 disables caching.
func NewValidator(v *TokenVerifier, r RevocationChecker, cacheTTL time.Duration, now func() time.Time) *Validator {
	return &Validator{verifier: v, revoked: r, cacheTTL: cacheTTL, now: now, cache: map[string]revocationEntry{}}
}

// Validate returns the principal of a valid, unrevoked token. It returns
// ErrInvalidToken (wrapped) for any token problem, and another error only
// when revocation could not be checked.
func (v *Validator) Validate(ctx context.Context, token string) (Principal, error) {
	claims, err := v.verifier.Verify(token)
	if err != nil {
		return Principal{}, err
	}
	revoked, err := v.isRevoked(ctx, claims.LoginID)
	if err != nil {
		return Principal{}, err
	}
	if revoked {
		return Principal{}, fmt.Errorf("%w: login revoked or unknown", ErrInvalidToken)
	}
	return Principal{UserID: claims.Subject, Role: claims.Role, LoginID: claims.LoginID, TokenID: claims.ID}, nil
}

func (v *Validator) isRevoked(ctx context.Context, loginID string) (bool, error) {
	now := v.now()
	if v.cacheTTL > 0 {
		v.mu.Lock()
		e, ok := v.cache[loginID]
		v.mu.Unlock()
		if ok && (e.revoked || now.Sub(e.checkedAt) < v.cacheTTL) {
			return e.revoked, nil
		}
	}
	revoked, err := v.revoked.Revoked(ctx, loginID)
	if err != nil {
		return false, err
	}
	if v.cacheTTL > 0 {
		v.mu.Lock()
		if len(v.cache) >= maxCacheEntries {
			v.cache = map[string]revocationEntry{}
		}
		if !v.cache[loginID].revoked { // a concurrent "revoked" answer is final
			v.cache[loginID] = revocationEntry{revoked: revoked, checkedAt: now}
		}
		v.mu.Unlock()
	}
	return revoked, nil
}
