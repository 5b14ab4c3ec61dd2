package session

import (
	"fmt"
	"math"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/validate"
)

// A game's live sessions are counted on two counter rows (aggregate
// children, kept in the same commit as the sessions they count): all of
// the game's, and per host. A create adds one to each, capped, and a
// session that ends takes one from each. Counting the sessions instead, as
// creates once did, cost a scan that grew with every live session and
// needed the game locked so concurrent creates could not race past the
// caps; the counters hold the caps exactly without either, so a create
// commits with others (group commit).

// hostedKind is the counter of the live sessions one user hosts in one
// game; its parent id is hostedKey.
const hostedKind aggregate.Kind = "game-host"

func hostedKey(gameID, hostID string) string { return gameID + "/" + hostID }

// room is what may still open in a game for one caller: the caps of the
// two counters, and what the commit fails with at each.
type room struct {
	gameCap, hostedCap   int
	gameFull, hostedFull error
}

// roomFor decides the caps for caller opening a session of game g.
//
// Players host at most q.OpenSessionsPerUser open sessions per game
// (RESOURCE_EXHAUSTED: their own quota), and their sessions together fill
// at most PlayerSessions of max_sessions (FAILED_PRECONDITION: the game's
// state), so the owner, admins and game instances are never locked out of
// their own game; those managers may use the rest, up to max_sessions.
func roomFor(caller auth.Principal, gameOwner string, g *gamepb.Game, q config.Quotas) room {
	maxSessions := validate.Count(g.GetMaxSessions())
	if authz.CanManageAnySession(caller, gameOwner) {
		return room{
			gameCap:   maxSessions,
			gameFull:  apperr.FailedPrecondition(fmt.Sprintf("this game already has its maximum of %d live sessions", maxSessions)),
			hostedCap: math.MaxInt32, hostedFull: apperr.Internal("hosted sessions counter overflow", nil),
		}
	}
	players := PlayerSessions(maxSessions, q.SessionReservePercent)
	return room{
		gameCap: players,
		gameFull: apperr.FailedPrecondition(fmt.Sprintf(
			"this game has no room for another player's session: players may open %d of its maximum of %d live sessions (the rest are kept for its owner and operators)",
			players, maxSessions)),
		hostedCap: q.OpenSessionsPerUser,
		hostedFull: apperr.ResourceExhausted(fmt.Sprintf(
			"you already host %d open sessions of this game, the most a player may; finish or delete one first", q.OpenSessionsPerUser), 0),
	}
}

// countOpened counts a new live session of gameID hosted by hostID, with
// the commit; the host's own quota is checked first, as players expect to
// hear about it before the game's.
func countOpened(tx aggregate.Tx, gameID, hostID string, r room) {
	tx.AddChildOr(hostedKind, hostedKey(gameID, hostID), aggregate.KindSession, r.hostedCap, r.hostedFull)
	tx.AddChildOr(aggregate.KindGame, gameID, aggregate.KindSession, r.gameCap, r.gameFull)
}

// countEnded counts a live session of gameID hosted by hostID less.
func countEnded(tx aggregate.Tx, gameID, hostID string) {
	tx.RemoveChild(hostedKind, hostedKey(gameID, hostID), aggregate.KindSession)
	tx.RemoveChild(aggregate.KindGame, gameID, aggregate.KindSession)
}
