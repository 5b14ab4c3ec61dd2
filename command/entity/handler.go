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
}

// event keys by session, not entity: ordering matters within a session, and
// a session's entities then share one partition.
func (h *Handler) event(sessionID, entityID string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.Topic, sessionID, "entity/"+entityID, source, m)
}

// checkSession allows a change to the entities of a session: the session
// exists in gameID, caller may change it, and it is not over. It returns
// the session.
//
// It reads (does not lock) the session, so entity changes of one session do
// not serialize on it. The price: an entity change racing the session's end
// may still commit just after it; the next change then sees the end. One
// query reads the session and its game.
func (h *Handler) checkSession(ctx context.Context, caller auth.Principal, sessionID, gameID string) (*gamepb.Session, error) {
	sc, err := h.Store.LoadWithParent(ctx, aggregate.KindSession, sessionID, aggregate.KindGame)
	if errors.Is(err, aggregate.ErrNotFound) || (err == nil && sc.Record.Parent != gameID) {
		return nil, apperr.NotFound("session not found in this game")
	}
	if err != nil {
		return nil, err
	}
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
