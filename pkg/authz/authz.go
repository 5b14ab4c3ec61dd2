// Package authz holds the authorization rules shared by commands and
// queries (docs/authorization.md is the table they implement).
package authz

import (
	"context"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
)

// Caller returns the authenticated principal or UNAUTHENTICATED.
func Caller(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok || p.UserID == "" {
		return auth.Principal{}, apperr.Unauthenticated("authentication required")
	}
	return p, nil
}

// IsAdmin reports whether p is an admin.
func IsAdmin(p auth.Principal) bool { return p.Role == auth.RoleAdmin }

// IsService reports whether p is a trusted back end (game instance).
func IsService(p auth.Principal) bool { return p.Role == auth.RoleService }

// CanCreateGames: developers and admins publish games.
func CanCreateGames(p auth.Principal) bool { return p.Role == auth.RoleDeveloper || IsAdmin(p) }

// CanChangeGame: the game's owner or an admin.
func CanChangeGame(p auth.Principal, gameOwner string) bool {
	return IsAdmin(p) || p.UserID == gameOwner
}

// CanManageAnySession of a game: its owner, an admin, or a game instance.
func CanManageAnySession(p auth.Principal, gameOwner string) bool {
	return CanChangeGame(p, gameOwner) || IsService(p)
}

// CanChangeSession: a member, the host, the game's owner, an admin or a
// game instance.
func CanChangeSession(p auth.Principal, host, gameOwner string, members []string) bool {
	if p.UserID == host || CanManageAnySession(p, gameOwner) {
		return true
	}
	for _, m := range members {
		if m == p.UserID {
			return true
		}
	}
	return false
}

// CanWatchMatch: who may replay a finished match (oof.ops.v1 ReplayMatch):
// its players, its host, the game's owner and admins. Unlike changing a
// session, game instances (the service role) are not included: a replay
// is for people who took part or own the game.
func CanWatchMatch(p auth.Principal, host, gameOwner string, players []string) bool {
	if IsAdmin(p) || p.UserID == host || p.UserID == gameOwner {
		return true
	}
	for _, m := range players {
		if m == p.UserID {
			return true
		}
	}
	return false
}

// Denied is the one error every refused action returns.
func Denied(what string) error { return apperr.PermissionDenied("not allowed to " + what) }
