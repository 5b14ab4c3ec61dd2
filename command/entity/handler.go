// Package entity handles CreateEntity, UpdateEntity and DeleteEntity: the
// objects of a running session (units, items, props), recorded as events on
// oof.entity.v1 keyed by session id so a session's entities stay in order.
package entity

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/command/session"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/projector"
)

// Projector is the read model entity commands wait for.
const Projector = projector.Entities

const source = "/oof/command/entity"

// Handler handles the entity commands.
type Handler struct {
	kit.Deps
	Topic string // full oof.entity.v1 name
	// Quotas bound a session's live entities, by count and by bytes
	// (zero: defaults).
	Quotas config.Quotas
	// Scopes caches the sessions entity changes are checked against (nil:
	// read each time).
	Scopes *aggregate.ScopeCache
}

// event keys by session, not entity: ordering matters within a session, and
// a session's entities then share one partition.
func (h *Handler) event(sessionID, entityID string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.Topic, sessionID, "entity/"+entityID, source, m)
}

// inSession runs change once the caller may change the entities of the
// session: it exists in gameID, the caller may change it, and it is not
// over. change gets the session and must queue tx.ExpectUnchanged(scope)
// in its transaction (see decideInSession).
//
// The session comes from the handler's scope cache, so a stream of entity
// changes does not read it before each; the commit then checks that
// neither the session nor its game moved on since (ExpectUnchanged). If
// one did, the change wrote nothing and runs once more on a fresh read, so
// a session that ended refuses it then. It does not lock the session:
// entity changes of one session must not serialize on it.
func (h *Handler) inSession(ctx context.Context, caller auth.Principal, sessionID, gameID string,
	change func(s *gamepb.Session, scope aggregate.Scope) error) error {
	load := h.Scopes.Load
	for attempt := 0; ; attempt++ {
		sc, err := load(ctx, aggregate.KindSession, sessionID, aggregate.KindGame)
		if errors.Is(err, aggregate.ErrNotFound) || (err == nil && sc.Record.Parent != gameID) {
			return apperr.NotFound("session not found in this game")
		}
		if err != nil {
			return err
		}
		s, err := checkSession(caller, sc)
		if err != nil {
			return err
		}
		err = change(s, sc)
		if !errors.Is(err, aggregate.ErrStale) || attempt > 0 {
			return err
		}
		h.Scopes.Forget(aggregate.KindSession, sessionID, aggregate.KindGame)
		load = h.Scopes.Fresh
	}
}

// checkSession decides whether caller may change the entities of the
// session sc holds (with its game), and returns the session.
func checkSession(caller auth.Principal, sc aggregate.Scope) (*gamepb.Session, error) {
	s := &gamepb.Session{}
	if err := proto.Unmarshal(sc.State, s); err != nil {
		return nil, apperr.Internal("decode session", err)
	}
	if !authz.CanChangeSession(caller, sc.Owner, sc.Parent.Owner, s.GetUserIds()) {
		return nil, authz.Denied("change the entities of this session (members, host, game owner or admin only)")
	}
	if session.Terminal(s.GetState()) {
		return nil, apperr.FailedPrecondition("session is " + s.GetState().String() + "; its entities can no longer change")
	}
	return s, nil
}

// loaded is an entity's write-model record and decoded state.
type loaded struct {
	rec    aggregate.Record
	entity *gamepb.Entity
}

// load locks a live entity of the given session and game. Anything else —
// unknown, deleted, or in another session or game — is NOT_FOUND, so ids of
// other sessions' entities reveal nothing.
func (h *Handler) load(ctx context.Context, tx aggregate.Tx, id, sessionID, gameID string) (loaded, error) {
	rec, err := tx.Lock(ctx, aggregate.KindEntity, id)
	if errors.Is(err, aggregate.ErrNotFound) || (err == nil && (!rec.Live || rec.Parent != sessionID)) {
		return loaded{}, apperr.NotFound("entity not found in this session")
	}
	if err != nil {
		return loaded{}, err
	}
	e := &gamepb.Entity{}
	if err := proto.Unmarshal(rec.State, e); err != nil {
		return loaded{}, apperr.Internal("decode entity", err)
	}
	if e.GetGameId() != gameID {
		return loaded{}, apperr.NotFound("entity not found in this session")
	}
	if err := kit.CheckExpectedVersion(ctx, "entity", rec.Version); err != nil {
		return loaded{}, err
	}
	return loaded{rec: rec, entity: e}, nil
}

func encode(e *gamepb.Entity) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
	if err != nil {
		return nil, apperr.Internal("encode entity", err)
	}
	return b, nil
}
