package entity

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/validate"
)

// Create adds an entity to a session; the server assigns its id (the
// contract's EntityCreateRequest has none).
func (h *Handler) Create(ctx context.Context, req *gamepb.EntityCreateRequest) (*gamepb.Entity, int64, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := checkCreate(req); err != nil {
		return nil, 0, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, 0, apperr.Internal("entity id", err)
	}
	e := &gamepb.Entity{
		Id: id.String(), SessionId: req.GetSessionId(), GameId: req.GetGameId(), Name: req.GetName(), Type: req.GetType(),
		Attributes: req.GetAttributes(), Controller: gamepb.Entity_ControllerStateEnum(req.GetController()),
		PlayerId: req.PlayerId, Data: req.Data,
	}
	err = h.ExecuteOnce(ctx, kit.Once{Command: "CreateEntity", Caller: caller.UserID, Request: req, Result: e}, func(ctx context.Context) error {
		return h.inSession(ctx, caller, req.GetSessionId(), req.GetGameId(), func(s *gamepb.Session, scope aggregate.Scope) error {
			if err := checkPlayer(caller, s, req.GetPlayerId()); err != nil {
				return err
			}
			return h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
				state, err := encode(e)
				if err != nil {
					return nil, err
				}
				rec := aggregate.Record{Kind: aggregate.KindEntity, ID: e.GetId(), Parent: e.GetSessionId(), Owner: caller.UserID, Live: true, State: state}
				if err := tx.Save(ctx, rec, 0); err != nil {
					return nil, err
				}
				tx.ExpectUnchanged(scope)
				h.account(tx, e.GetSessionId(), 1, int64(len(state)))
				return []eventlog.Event{h.event(e.GetSessionId(), e.GetId(), &eventspb.EntityCreated{
					Entity: e, Version: 1, CreatedBy: caller.UserID, CreatedAt: timestamppb.New(h.Now()),
				})}, nil
			})
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("create entity: %w", err)
	}
	return e, 1, nil
}

// checkCreate validates a CreateEntity request; the entity stores its
// fields as they are.
func checkCreate(req *gamepb.EntityCreateRequest) error {
	var c validate.Checks
	c.ID("session_id", req.GetSessionId())
	c.ID("game_id", req.GetGameId())
	c.Text("name", req.GetName(), 1, maxNameLen)
	c.Text("type", req.GetType(), 1, maxTypeLen)
	checkAttributes(&c, req.GetAttributes())
	checkController(&c, req.GetController())
	if req.PlayerId != nil {
		c.Text("player_id", req.GetPlayerId(), 0, maxPlayerIDLen)
	}
	c.JSON("data", req.Data)
	return c.Err()
}
