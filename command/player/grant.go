package player

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/validate"
)

// GrantResult is what GrantRole did.
type GrantResult struct {
	PreviousRole string
	Changed      bool // false: the account had the role already, nothing written
}

// GrantRole sets a user account's role: the operators' path (`oof admin
// grant-role`, oof.ops.v1 GrantRole), for accounts with or without a player
// profile. Like an admin's UpdatePlayer it changes auth_accounts (the role
// new logins and refreshes put into tokens) and records UserRoleChanged in
// one transaction; a HUMAN player profile, when there is one, gets the role
// too (PlayerUpdated), so the two never disagree. by is the admin's user id
// (empty when the operator CLI asks). The caller has authorized the call.
func (h *Handler) GrantRole(ctx context.Context, userID, role, by string) (GrantResult, error) {
	var c validate.Checks
	c.ID("user_id", userID)
	checkRole(&c, role)
	if err := c.Err(); err != nil {
		return GrantResult{}, err
	}
	var res GrantResult
	err := h.execute(ctx, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		acct, ok, err := loadAccount(ctx, tx, userID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, apperr.NotFound("no user account with this id")
		}
		res = GrantResult{PreviousRole: acct.role}
		if acct.role == role {
			return nil, nil
		}
		if err := setAccountRole(ctx, tx, userID, role); err != nil {
			return nil, err
		}
		res.Changed = true
		events := []eventlog.Event{h.roleChanged(userID, role, by)}
		rec, err := tx.Get(ctx, aggregate.KindPlayer, userID)
		if errors.Is(err, aggregate.ErrNotFound) {
			return events, nil
		}
		if err != nil {
			return nil, err
		}
		prev := &playerpb.Player{}
		if err := proto.Unmarshal(rec.State, prev); err != nil {
			return nil, apperr.Internal("decode player", err)
		}
		p := proto.Clone(prev).(*playerpb.Player)
		p.Role = proto.String(role)
		if rec.State, err = encode(p); err != nil {
			return nil, err
		}
		if err := tx.Save(ctx, rec, rec.Version); err != nil {
			return nil, err
		}
		ep, sealed, keyID, err := forEvent(ctx, tx, p, rec.Owner)
		if err != nil {
			return nil, err
		}
		return append([]eventlog.Event{h.event(userID, &eventspb.PlayerUpdated{
			Player: ep, Version: rec.Version + 1, UpdatedBy: by, UpdatedAt: timestamppb.New(h.Now()), PreviousRole: prev.GetRole(),
			EmailSealed: sealed, PersonalKeyId: keyID,
		})}, events...), nil
	})
	if err != nil {
		return GrantResult{}, fmt.Errorf("grant role: %w", err)
	}
	return res, nil
}
