package session

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	commandgame "github.com/oof-gg/platform/command/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/validate"
)

// Create opens a session of a game with the authenticated caller as host.
func (h *Handler) Create(ctx context.Context, req *gamepb.SessionCreate) (*gamepb.Session, int64, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	return h.CreateAs(ctx, caller, req)
}

// CreateAs opens a session with caller as host: the same command for
// callers that are not a gRPC request (the matchmaker passes its service
// identity here rather than through the context).
func (h *Handler) CreateAs(ctx context.Context, caller auth.Principal, req *gamepb.SessionCreate) (*gamepb.Session, int64, error) {
	if caller.UserID == "" {
		return nil, 0, apperr.Unauthenticated("authentication required")
	}
	if err := checkCreate(req); err != nil {
		return nil, 0, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, 0, apperr.Internal("session id", err)
	}
	s := &gamepb.Session{
		Id: id.String(), GameId: req.GetGameId(), UserIds: req.GetUserIds(), State: req.GetState(),
		Attributes: req.GetAttributes(), Region: req.Region, Data: req.Data,
	}
	err = h.ExecuteOnce(ctx, kit.Once{Command: "CreateSession", Caller: caller.UserID, Request: req, Result: s}, func(ctx context.Context) error {
		return h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
			// Locking the game serializes session creation per game, so the
			// live-session count below cannot be raced past max_sessions.
			grec, g, err := commandgame.LoadGame(ctx, tx, req.GetGameId())
			if err != nil {
				return nil, err
			}
			// The caller becomes the host of a list that starts empty.
			if err := checkMembers(caller, caller.UserID, grec.Owner, nil, req.GetUserIds()); err != nil {
				return nil, err
			}
			if len(s.GetUserIds()) > validate.Count(g.GetMaxPlayersPerSession()) {
				return nil, apperr.FailedPrecondition(fmt.Sprintf("a session of this game holds at most %s players", g.GetMaxPlayersPerSession()))
			}
			live, hosted, err := tx.CountLiveChildrenOwned(ctx, aggregate.KindSession, g.GetId(), caller.UserID)
			if err != nil {
				return nil, err
			}
			if err := checkRoom(caller, grec.Owner, g, h.Quotas.OrDefaults(), live, hosted); err != nil {
				return nil, err
			}
			state, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
			if err != nil {
				return nil, apperr.Internal("encode session", err)
			}
			rec := aggregate.Record{Kind: aggregate.KindSession, ID: s.GetId(), Parent: g.GetId(), Owner: caller.UserID, Live: true, State: state}
			if err := tx.Save(ctx, rec, 0); err != nil {
				return nil, err
			}
			return []eventlog.Event{h.event(s.GetId(), &eventspb.SessionCreated{
				Session: s, HostId: caller.UserID, Version: 1, CreatedAt: timestamppb.New(h.Now()),
			})}, nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("create session: %w", err)
	}
	return s, 1, nil
}

// checkCreate validates a CreateSession request; the session stores its
// fields as they are.
func checkCreate(req *gamepb.SessionCreate) error {
	var c validate.Checks
	c.ID("game_id", req.GetGameId())
	checkUsers(&c, req.GetUserIds())
	checkAttributes(&c, req.GetAttributes())
	checkRegion(&c, req.Region)
	checkState(&c, req.GetState())
	if !Initial(req.GetState()) {
		c.Add("state", "a session starts in CREATED, WAITING, QUEUED or STARTED")
	}
	c.JSON("data", req.Data)
	return c.Err()
}
