package session

import (
	"fmt"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/validate"
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

// checkRoom decides whether caller may open another session of game g,
// which has live open sessions, hosted of them by caller (both counted
// with the game locked, so concurrent creates cannot race past them).
//
// Players host at most q.OpenSessionsPerUser open sessions per game
// (RESOURCE_EXHAUSTED), and their creates stop at PlayerSessions of the
// game's max_sessions, so players' sessions never lock its owner and
// operators out. Managers are bound only by max_sessions itself.
func checkRoom(caller auth.Principal, gameOwner string, g *gamepb.Game, q config.Quotas, live, hosted int) error {
	maxSessions := validate.Count(g.GetMaxSessions())
	if authz.CanManageAnySession(caller, gameOwner) {
		if live >= maxSessions {
			return apperr.FailedPrecondition(fmt.Sprintf("this game already has its maximum of %d live sessions", maxSessions))
		}
		return nil
	}
	if hosted >= q.OpenSessionsPerUser {
		return apperr.ResourceExhausted(fmt.Sprintf(
			"you already host %d open sessions of this game, the most a player may; finish or delete one first", q.OpenSessionsPerUser), 0)
	}
	if players := PlayerSessions(maxSessions, q.SessionReservePercent); live >= players {
		return apperr.FailedPrecondition(fmt.Sprintf(
			"this game has no room for another player's session: players may open %d of its maximum of %d live sessions (the rest are kept for its owner and operators)",
			players, maxSessions))
	}
	return nil
}

// PlayerSessions is how many of a game's maxSessions live sessions players'
// creates may fill: reservePercent of it, rounded up, is kept for the
// game's managers (so any reserve above 0% keeps at least one).
func PlayerSessions(maxSessions, reservePercent int) int {
	return maxSessions - (maxSessions*reservePercent+99)/100
}
