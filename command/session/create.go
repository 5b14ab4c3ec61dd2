package session

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
		// The game is read, not locked: the caps are held by the counters
		// (room.go), and the commit checks the game did not change since
		// (its limits, its owner); if it did, the create runs once more.
		load := h.Games.Load
		for attempt := 0; ; attempt++ {
			game, err := load(ctx, aggregate.KindGame, s.GetGameId(), "")
			if errors.Is(err, aggregate.ErrNotFound) {
				return apperr.NotFound("game not found")
			}
			if err != nil {
				return err
			}
			err = h.create(ctx, caller, game.Record, s)
			if !errors.Is(err, aggregate.ErrStale) || attempt > 0 {
				return err
			}
			h.Games.Forget(aggregate.KindGame, s.GetGameId(), "")
			load = h.Games.Fresh
		}
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

// create decides and commits one attempt at opening session s in the game
// grec, which may be a cached copy: the commit checks it is current.
func (h *Handler) create(ctx context.Context, caller auth.Principal, grec aggregate.Record, s *gamepb.Session) error {
	g := &gamepb.Game{}
	if err := proto.Unmarshal(grec.State, g); err != nil {
		return apperr.Internal("decode game", err)
	}
	// The caller becomes the host of a list that starts empty.
	if err := checkMembers(caller, caller.UserID, grec.Owner, nil, s.GetUserIds()); err != nil {
		return err
	}
	if len(s.GetUserIds()) > validate.Count(g.GetMaxPlayersPerSession()) {
		return apperr.FailedPrecondition(fmt.Sprintf("a session of this game holds at most %s players", g.GetMaxPlayersPerSession()))
	}
	return h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		state, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
		if err != nil {
			return nil, apperr.Internal("encode session", err)
		}
		rec := aggregate.Record{Kind: aggregate.KindSession, ID: s.GetId(), Parent: g.GetId(), Owner: caller.UserID, Live: true, State: state}
		if err := tx.Save(ctx, rec, 0); err != nil {
			return nil, err
		}
		tx.ExpectVersion(aggregate.KindGame, grec.ID, grec.Version)
		countOpened(tx, g.GetId(), caller.UserID, roomFor(caller, grec.Owner, g, h.Quotas.OrDefaults()))
		return []eventlog.Event{h.event(s.GetId(), &eventspb.SessionCreated{
			Session: s, HostId: caller.UserID, Version: 1, CreatedAt: timestamppb.New(h.Now()),
		})}, nil
	})
}
