package session

import (
	"context"
	"fmt"

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

// UpdateOptions is what an UpdateSession call says beyond its message.
type UpdateOptions struct {
	// SetUserIDs makes user_ids the new player list even when it is empty
	// (SetUserIDsHeader): how the last member leaves.
	SetUserIDs bool
}

// Update changes a session. Semantics (proto3 cannot tell "empty" from
// "unset"): state STATE_CREATED keeps the current state unless it is CREATED;
// non-empty user_ids (or any, with opts.SetUserIDs) replaces the player
// list; attributes are merged key by key; region and data change only when
// set.
func (h *Handler) Update(ctx context.Context, req *gamepb.SessionUpdate, opts UpdateOptions) (*gamepb.Session, int64, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	var c validate.Checks
	c.ID("id", req.GetId())
	if req.GetGameId() != "" {
		c.ID("game_id", req.GetGameId())
	}
	checkUsers(&c, req.GetUserIds())
	checkAttributes(&c, req.GetAttributes())
	checkRegion(&c, req.Region)
	checkState(&c, req.GetState())
	c.JSON("data", req.Data)
	if err := c.Err(); err != nil {
		return nil, 0, err
	}
	var out *gamepb.Session
	var version int64
	err = h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		l, err := h.load(ctx, tx, req.GetId(), req.GetGameId())
		if err != nil {
			return nil, err
		}
		s := l.session
		if !authz.CanChangeSession(caller, l.rec.Owner, l.gameOwner, s.GetUserIds()) {
			return nil, authz.Denied("change this session (members, host, game owner or admin only)")
		}
		if err := kit.CheckExpectedVersion(ctx, "session", l.rec.Version); err != nil {
			return nil, err
		}
		if Terminal(s.GetState()) {
			return nil, apperr.FailedPrecondition("session is " + s.GetState().String() + " and can no longer change")
		}
		previous := s.GetState()
		next := req.GetState()
		if next == gamepb.GameState_STATE_CREATED {
			next = previous
		}
		if !CanTransition(previous, next) {
			return nil, apperr.FailedPrecondition(fmt.Sprintf("illegal transition %s -> %s", previous, next))
		}
		joined, left := []string(nil), []string(nil)
		if len(req.GetUserIds()) > 0 || opts.SetUserIDs {
			if err := checkMembers(caller, l.rec.Owner, l.gameOwner, s.GetUserIds(), req.GetUserIds()); err != nil {
				return nil, err
			}
			if len(req.GetUserIds()) > validate.Count(l.game.GetMaxPlayersPerSession()) {
				return nil, apperr.FailedPrecondition("a session of this game holds at most " + l.game.GetMaxPlayersPerSession() + " players")
			}
			joined, left = diff(s.GetUserIds(), req.GetUserIds())
			s.UserIds = req.GetUserIds()
		}
		s.State = next
		for k, v := range req.GetAttributes() {
			if s.Attributes == nil {
				s.Attributes = map[string]*gamepb.GameAttribute{}
			}
			s.Attributes[k] = v
		}
		if len(s.GetAttributes()) > maxAttributes {
			return nil, apperr.Invalid("attributes", "a session has at most 64 attributes")
		}
		if req.Region != nil {
			s.Region = req.Region
		}
		if req.Data != nil {
			s.Data = req.Data
		}
		if err := h.save(ctx, tx, l); err != nil {
			return nil, err
		}
		out, version = s, l.rec.Version+1
		return []eventlog.Event{h.event(s.GetId(), &eventspb.SessionUpdated{
			Session: s, UpdatedBy: caller.UserID, Version: version, PreviousState: previous,
			JoinedUserIds: joined, LeftUserIds: left, UpdatedAt: timestamppb.New(h.Now()),
		})}, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("update session: %w", err)
	}
	return out, version, nil
}

// Delete ends a session for good (STATE_DELETED).
func (h *Handler) Delete(ctx context.Context, req *gamepb.SessionDelete) error {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return err
	}
	var c validate.Checks
	c.ID("id", req.GetId())
	if req.GetGameId() != "" {
		c.ID("game_id", req.GetGameId())
	}
	if err := c.Err(); err != nil {
		return err
	}
	return h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		l, err := h.load(ctx, tx, req.GetId(), req.GetGameId())
		if err != nil {
			return nil, err
		}
		if caller.UserID != l.rec.Owner && !authz.CanManageAnySession(caller, l.gameOwner) {
			return nil, authz.Denied("delete this session (host, game owner or admin only)")
		}
		if err := kit.CheckExpectedVersion(ctx, "session", l.rec.Version); err != nil {
			return nil, err
		}
		if Terminal(l.session.GetState()) {
			return nil, apperr.FailedPrecondition("session is already " + l.session.GetState().String())
		}
		l.session.State = gamepb.GameState_STATE_DELETED
		if err := h.save(ctx, tx, l); err != nil {
			return nil, err
		}
		return []eventlog.Event{h.event(req.GetId(), &eventspb.SessionDeleted{
			SessionId: req.GetId(), GameId: l.rec.Parent, DeletedBy: caller.UserID,
			Version: l.rec.Version + 1, DeletedAt: timestamppb.New(h.Now()),
		})}, nil
	})
}
