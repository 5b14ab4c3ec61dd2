// Package game handles CreateGame and UpdateGame: validate, authorize,
// record GameCreated/GameUpdated on oof.game.v1.
package game

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/projector"
)

// Projector is the read model game commands wait for.
const Projector = projector.Games

const source = "/oof/command/game"

// Handler handles the game commands.
type Handler struct {
	kit.Deps
	Topic string // full oof.game.v1 name
}

func (h *Handler) event(id string, m proto.Message) eventlog.Event {
	return kit.NewEvent(h.Topic, id, "game/"+id, source, m)
}

// Create publishes a new game owned by the caller.
func (h *Handler) Create(ctx context.Context, req *gamepb.GameCreateRequest) (*gamepb.Game, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	g, err := newGame(req)
	if err != nil {
		return nil, err
	}
	if !authz.CanCreateGames(caller) {
		return nil, authz.Denied("create games (developers and admins only)")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, apperr.Internal("game id", err)
	}
	g.Id = id.String()
	err = h.ExecuteOnce(ctx, kit.Once{Command: "CreateGame", Caller: caller.UserID, Request: req, Result: g}, func(ctx context.Context) error {
		return h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
			state, err := proto.Marshal(g)
			if err != nil {
				return nil, apperr.Internal("encode game", err)
			}
			if err := tx.Save(ctx, aggregate.Record{Kind: aggregate.KindGame, ID: g.Id, Owner: caller.UserID, Live: true, State: state}, 0); err != nil {
				return nil, err
			}
			return []eventlog.Event{h.event(g.Id, &eventspb.GameCreated{
				Game: g, OwnerId: caller.UserID, Version: 1, CreatedAt: timestamppb.New(h.Now()),
			})}, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("create game: %w", err)
	}
	kit.SetVersion(ctx, 1)
	return g, nil
}

// Update changes a game; only its owner or an admin may.
func (h *Handler) Update(ctx context.Context, req *gamepb.GameUpdateRequest) (*gamepb.Game, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUpdate(req); err != nil {
		return nil, err
	}
	var updated *gamepb.Game
	var version int64
	err = h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		rec, g, err := LoadGame(ctx, tx, req.GetId())
		if err != nil {
			return nil, err
		}
		if !authz.CanChangeGame(caller, rec.Owner) {
			return nil, authz.Denied("change this game (owner or admin only)")
		}
		if err := kit.CheckExpectedVersion(ctx, "game", rec.Version); err != nil {
			return nil, err
		}
		applyUpdate(g, req)
		state, err := proto.Marshal(g)
		if err != nil {
			return nil, apperr.Internal("encode game", err)
		}
		rec.State = state
		if err := tx.Save(ctx, rec, rec.Version); err != nil {
			return nil, err
		}
		updated, version = g, rec.Version+1
		return []eventlog.Event{h.event(g.Id, &eventspb.GameUpdated{
			Game: g, UpdatedBy: caller.UserID, Version: rec.Version + 1, UpdatedAt: timestamppb.New(h.Now()),
		})}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update game: %w", err)
	}
	kit.SetVersion(ctx, version)
	return updated, nil
}

func applyUpdate(g *gamepb.Game, req *gamepb.GameUpdateRequest) {
	if req.GetName() != "" {
		g.Name = req.GetName()
	}
	if req.GetDescription() != "" {
		g.Description = req.GetDescription()
	}
	if req.Data != nil {
		g.Data = req.Data
	}
	if req.ShortDescription != nil {
		g.ShortDescription = req.GetShortDescription()
	}
	if req.ImageUrl != nil {
		g.ImageUrl = req.GetImageUrl()
	}
	if req.MaxSessions != nil {
		g.MaxSessions = req.GetMaxSessions()
	}
	if req.MaxPlayersPerSession != nil {
		g.MaxPlayersPerSession = req.GetMaxPlayersPerSession()
	}
}

// LoadGame locks a game's write-model record for the rest of tx.
func LoadGame(ctx context.Context, tx aggregate.Tx, id string) (aggregate.Record, *gamepb.Game, error) {
	rec, err := tx.Lock(ctx, aggregate.KindGame, id)
	if errors.Is(err, aggregate.ErrNotFound) {
		return rec, nil, apperr.NotFound("game not found")
	}
	if err != nil {
		return rec, nil, err
	}
	g := &gamepb.Game{}
	if err := proto.Unmarshal(rec.State, g); err != nil {
		return rec, nil, apperr.Internal("decode game", err)
	}
	return rec, g, nil
}
