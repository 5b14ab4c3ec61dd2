// Package auth holds identity primitives shared by every service: password
// hashing, access tokens (JWT) with key rotation, logins (refresh-token
// families) in Redis, and the authenticated principal carried in a request
// context.
package auth

import "context"

// Roles known to the platform.
const (
	RolePlayer    = "player"
	RoleDeveloper = "developer"
	RoleAdmin     = "admin"
	// RoleService is for game instances and other trusted back ends.
	RoleService = "service"
)

// ValidRole reports whether r is one of the platform's roles.
func ValidRole(r string) bool {
	switch r {
	case RolePlayer, RoleDeveloper, RoleAdmin, RoleService:
		return true
	}
	return false
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID  string
	Role    string
	LoginID string // the login (refresh-token family) the access token belongs to
	TokenID string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller of ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
