package entity

import (
	"fmt"
	"slices"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
)

// account records, with the transaction's commit, what a change does to
// its session's entity quotas: count live entities more or fewer (1, 0 or
// -1) and bytes more or fewer of stored encoding. Both live on the
// session's counter row, updated in the same commit as the entity, so the
// limits hold exactly under concurrent creates; a change that would pass
// one fails the commit RESOURCE_EXHAUSTED and writes nothing.
func (h *Handler) account(tx aggregate.Tx, sessionID string, count int, bytes int64) {
	q := h.Quotas.OrDefaults()
	if count > 0 && bytes >= 0 {
		tx.AddChildSized(aggregate.KindSession, sessionID, aggregate.KindEntity, q.EntitiesPerSession, bytes, q.EntityBytesPerSession,
			fmt.Sprintf("a session holds at most %d entities; delete one first", q.EntitiesPerSession),
			fmt.Sprintf("a session's entities hold at most %d bytes together (this change adds %d); delete or shrink some first",
				q.EntityBytesPerSession, bytes))
		return
	}
	switch {
	case count > 0:
		tx.AddChild(aggregate.KindSession, sessionID, aggregate.KindEntity, q.EntitiesPerSession,
			fmt.Sprintf("a session holds at most %d entities; delete one first", q.EntitiesPerSession))
	case count < 0:
		tx.RemoveChild(aggregate.KindSession, sessionID, aggregate.KindEntity)
	}
	if bytes != 0 {
		tx.AddChildBytes(aggregate.KindSession, sessionID, aggregate.KindEntity, bytes, q.EntityBytesPerSession,
			fmt.Sprintf("a session's entities hold at most %d bytes together (this change adds %d); delete or shrink some first",
				q.EntityBytesPerSession, bytes))
	}
}

// checkPlayer: an entity is attributed (player_id) to nobody, to the
// caller, or to a member of its session, never to someone outside it, so
// no one can pin entities on players who are not in the match. The session
// is the one inSession read; the commit checks it is still current, so a
// member who has left is not named.
func checkPlayer(caller auth.Principal, s *gamepb.Session, playerID string) error {
	if playerID == "" || playerID == caller.UserID || slices.Contains(s.GetUserIds(), playerID) {
		return nil
	}
	return authz.Denied("attribute an entity to a player outside this session (player_id must be empty, your id or a member's)")
}
