package session

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/validate"
)

// JoinLeave adds a user to a session's players (JOIN) or removes them
// (LEAVE): GameService.JoinLeave with a session_id. caller is the
// authenticated principal and expectedVersion the client's
// x-oof-expected-version (0: none), both read at the edge.
//
// The user is the caller unless user_id names someone else, which only the
// game's managers may do. A session is joinable while it is neither
// FINISHED nor DELETED, its region is the one asked for (when the request
// names one and the session has one), and it holds fewer players than the
// game's max_players_per_session. Joining a session one is already in, or
// leaving one one is not in, changes nothing and answers the session as it
// is (no event, same version): a retried call is harmless.
func (h *Handler) JoinLeave(ctx context.Context, caller auth.Principal, req *gamepb.JoinLeaveGame, expectedVersion int64) (*gamepb.Session, int64, error) {
	if caller.UserID == "" {
		return nil, 0, apperr.Unauthenticated("authentication required")
	}
	var c validate.Checks
	c.ID("session_id", req.GetSessionId())
	if req.GetGameId() != "" {
		c.ID("game_id", req.GetGameId())
	}
	if req.GetUserId() != "" {
		checkUsers(&c, []string{req.GetUserId()})
	}
	checkRegion(&c, req.Region)
	if _, known := gamepb.JoinLeaveGame_Action_name[int32(req.GetAction())]; !known {
		c.Add("action", "must be JOIN or LEAVE")
	}
	if err := c.Err(); err != nil {
		return nil, 0, err
	}
	user := req.GetUserId()
	if user == "" {
		user = caller.UserID
	}
	var out *gamepb.Session
	var version int64
	err := h.Execute(ctx, Projector, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		l, err := h.load(ctx, tx, req.GetSessionId(), req.GetGameId())
		if err != nil {
			return nil, err
		}
		if user != caller.UserID && !authz.CanManageAnySession(caller, l.gameOwner) {
			return nil, authz.Denied("join or leave for another user (game owner, admin or game instance only)")
		}
		s := l.session
		out, version = s, l.rec.Version
		if expectedVersion != 0 && expectedVersion != l.rec.Version {
			return nil, apperr.Aborted(fmt.Sprintf("session was changed since version %d (now %d); reload and retry", expectedVersion, l.rec.Version))
		}
		if Terminal(s.GetState()) {
			return nil, apperr.FailedPrecondition("session is " + s.GetState().String() + " and cannot be joined or left")
		}
		before := s.GetUserIds()
		var after []string
		if req.GetAction() == gamepb.JoinLeaveGame_JOIN {
			if slices.Contains(before, user) {
				return nil, nil // already in: nothing to do
			}
			if err := joinable(s, l.game, req.Region); err != nil {
				return nil, err
			}
			after = append(slices.Clone(before), user)
		} else {
			if !slices.Contains(before, user) {
				return nil, nil // not in: nothing to do
			}
			after = slices.DeleteFunc(slices.Clone(before), func(u string) bool { return u == user })
		}
		// The one membership rule of CreateSession and UpdateSession holds
		// here too (a player adds or removes only themselves).
		if err := checkMembers(caller, l.rec.Owner, l.gameOwner, before, after); err != nil {
			return nil, err
		}
		joined, left := diff(before, after)
		s.UserIds = after
		if err := h.save(ctx, tx, l); err != nil {
			return nil, err
		}
		version = l.rec.Version + 1
		return []eventlog.Event{h.event(s.GetId(), &eventspb.SessionUpdated{
			Session: s, UpdatedBy: caller.UserID, Version: version, PreviousState: s.GetState(),
			JoinedUserIds: joined, LeftUserIds: left, UpdatedAt: timestamppb.New(h.Now()),
		})}, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("join or leave session: %w", err)
	}
	return out, version, nil
}

// joinable says why one more player cannot join s of game g (nil: they can).
func joinable(s *gamepb.Session, g *gamepb.Game, region *stdpb.RegionEnum) error {
	if region != nil && *region != stdpb.RegionEnum_REGION_UNSPECIFIED && s.Region != nil && s.GetRegion() != *region {
		return apperr.FailedPrecondition(fmt.Sprintf("session is in region %s, not %s", s.GetRegion(), *region))
	}
	if max := validate.Count(g.GetMaxPlayersPerSession()); len(s.GetUserIds()) >= max {
		return apperr.FailedPrecondition(fmt.Sprintf("session is full: a session of this game holds at most %d players", max))
	}
	return nil
}
