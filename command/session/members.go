package session

import (
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
)

// checkMembers is the one membership rule of CreateSession and
// UpdateSession (docs/authorization.md, Sessions): who may change a
// session's player list from before to after.
//
//   - The game's managers (its owner, admins, game instances) may list
//     anyone: matchmaking is theirs.
//   - Anyone else may add only themselves, so no player is put into a match
//     (and its history) by another player. At create the list starts empty,
//     so a player lists only themselves; a host may re-join later.
//   - The host may remove anyone (a kick); a member only themselves (a
//     leave), even when that empties the list.
func checkMembers(caller auth.Principal, host, gameOwner string, before, after []string) error {
	if authz.CanManageAnySession(caller, gameOwner) {
		return nil
	}
	joined, left := diff(before, after)
	for _, u := range joined {
		if u != caller.UserID {
			return authz.Denied("add other players to a session (game owner, admin or game instance only; a player adds only themselves)")
		}
	}
	if caller.UserID == host {
		return nil
	}
	for _, u := range left {
		if u != caller.UserID {
			return authz.Denied("remove other players from this session (host, game owner, admin or game instance only)")
		}
	}
	return nil
}

// PlayerSessions is how many of a game's maxSessions live sessions players'
// creates may fill: reservePercent of it, rounded up, is kept for the
// game's managers (so any reserve above 0% keeps at least one).
func PlayerSessions(maxSessions, reservePercent int) int {
	return maxSessions - (maxSessions*reservePercent+99)/100
}
