package player

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/validate"
)

// Update changes a player and returns it with its version. Only fields that
// are set change; an empty team clears it. The player's owner (a HUMAN
// player's own user, an AI player's creator) may change team and status;
// type and role change only by admins. A request that changes nothing
// writes nothing.
func (h *Handler) Update(ctx context.Context, req *playerpb.PlayerUpdate) (*playerpb.Player, int64, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	var c validate.Checks
	c.ID("id", req.GetId())
	checkTeam(&c, req.Team)
	checkEnums(&c, req.Type, req.Status)
	if req.Role != nil {
		checkRole(&c, req.GetRole())
	}
	if err := c.Err(); err != nil {
		return nil, 0, err
	}
	expected, err := kit.ExpectedVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	var out *playerpb.Player
	var version int64
	err = h.execute(ctx, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		l, err := load(ctx, tx, req.GetId())
		if err != nil {
			return nil, err
		}
		if !canChange(caller, l.rec.Owner) {
			return nil, authz.Denied("change this player (the player's own user, its owner or an admin only)")
		}
		if expected != 0 && expected != l.rec.Version {
			return nil, apperr.Aborted("player was changed since version " + strconv.FormatInt(expected, 10) +
				" (now " + strconv.FormatInt(l.rec.Version, 10) + "); reload and retry")
		}
		p, previousRole := proto.Clone(l.player).(*playerpb.Player), l.player.GetRole()
		if err := applyUpdate(caller, p, req); err != nil {
			return nil, err
		}
		events, err := h.syncAccount(ctx, tx, caller, p, req)
		if err != nil {
			return nil, err
		}
		out, version = p, l.rec.Version
		if len(events) == 0 && proto.Equal(p, l.player) {
			return nil, nil
		}
		if l.rec.State, err = encode(p); err != nil {
			return nil, err
		}
		if err := tx.Save(ctx, l.rec, l.rec.Version); err != nil {
			return nil, err
		}
		version++
		ep, sealed, keyID, err := forEvent(ctx, tx, p, l.rec.Owner)
		if err != nil {
			return nil, err
		}
		return append([]eventlog.Event{h.event(p.GetId(), &eventspb.PlayerUpdated{
			Player: ep, Version: version, UpdatedBy: caller.UserID, UpdatedAt: timestamppb.New(h.Now()), PreviousRole: previousRole,
			EmailSealed: sealed, PersonalKeyId: keyID,
		})}, events...), nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("update player: %w", err)
	}
	return out, version, nil
}

// applyUpdate changes p as req asks, refusing what the caller may not
// change. Setting a field to its current value is not a change.
func applyUpdate(caller auth.Principal, p *playerpb.Player, req *playerpb.PlayerUpdate) error {
	admin := authz.IsAdmin(caller)
	if req.Type != nil && req.GetType() != p.GetType() {
		if !admin {
			return authz.Denied("change a player's type (admins only)")
		}
		p.Type = req.GetType()
	}
	if req.Role != nil && req.GetRole() != p.GetRole() {
		if !admin {
			return authz.Denied("change a player's role (admins only)")
		}
		p.Role = proto.String(req.GetRole())
	}
	if req.Team != nil {
		p.Team = orNil(req.Team)
	}
	if req.Status != nil {
		p.Status = req.GetStatus()
	}
	return nil
}

// syncAccount keeps a human player and its account in step when an admin
// sets the role or type: the account's role is what new logins and refreshes
// put into tokens, so it changes in this same write, announced by
// UserRoleChanged. Only ids of user accounts can be HUMAN players.
func (h *Handler) syncAccount(ctx context.Context, tx aggregate.Tx, caller auth.Principal, p *playerpb.Player, req *playerpb.PlayerUpdate) ([]eventlog.Event, error) {
	if !authz.IsAdmin(caller) || (req.Role == nil && req.Type == nil) {
		return nil, nil
	}
	acct, isAccount, err := loadAccount(ctx, tx, p.GetId())
	if err != nil {
		return nil, err
	}
	if !isAccount {
		if p.GetType() == playerpb.PlayerType_HUMAN {
			return nil, apperr.FailedPrecondition("only a user account's player can be HUMAN")
		}
		return nil, nil
	}
	if req.Role == nil || acct.role == p.GetRole() {
		return nil, nil
	}
	if err := setAccountRole(ctx, tx, p.GetId(), p.GetRole()); err != nil {
		return nil, err
	}
	return []eventlog.Event{h.roleChanged(p.GetId(), p.GetRole(), caller.UserID)}, nil
}
