package player

import (
	"context"
	"fmt"

	"github.com/google/uuid"
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

// Create records a new player profile and returns it with its version (1).
//
// HUMAN: the profile of the caller's own account (id empty or the caller's
// id), once; username defaults to the account's, role is the account's (only
// an admin may set another, which changes the account's role too). AI:
// developers and admins only; the id is generated when empty and the caller
// owns the player. A score other than 0 is set only by admins and game
// instances (service), so no one awards themselves points.
func (h *Handler) Create(ctx context.Context, req *playerpb.Player) (*playerpb.Player, int64, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	p := &playerpb.Player{
		Id: req.GetId(), Username: req.GetUsername(), Email: orNil(req.Email), Team: orNil(req.Team),
		Score: req.GetScore(), Type: req.GetType(), Status: req.GetStatus(), Role: orNil(req.Role),
	}
	if err := checkCreate(p); err != nil {
		return nil, 0, err
	}
	admin := authz.IsAdmin(caller)
	if p.GetScore() != 0 && !canSetScore(caller) {
		return nil, 0, authz.Denied("set a player's score (admins and game instances only; a new player starts at 0)")
	}
	if p.GetType() == playerpb.PlayerType_HUMAN {
		if p.GetId() != "" && p.GetId() != caller.UserID {
			return nil, 0, authz.Denied("create a human player for another user (its id is its user's id)")
		}
		p.Id = caller.UserID
	} else {
		if !canCreateAI(caller) {
			return nil, 0, authz.Denied("create AI players (developers and admins only)")
		}
		if p.Role != nil && p.GetRole() != caller.Role && !admin {
			return nil, 0, authz.Denied("give a player a role other than your own (admins only)")
		}
		if p.Role == nil {
			p.Role = proto.String(auth.RolePlayer)
		}
		if p.GetId() == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return nil, 0, apperr.Internal("player id", err)
			}
			p.Id = id.String()
		}
	}
	err = h.ExecuteOnce(ctx, kit.Once{Command: "CreatePlayer", Caller: caller.UserID, Request: req, Result: p}, func(ctx context.Context) error {
		return h.execute(ctx, func(tx aggregate.Tx) ([]eventlog.Event, error) {
			acct, isAccount, err := loadAccount(ctx, tx, p.GetId())
			if err != nil {
				return nil, err
			}
			var events []eventlog.Event
			if p.GetType() == playerpb.PlayerType_HUMAN {
				if !isAccount {
					return nil, apperr.FailedPrecondition("the caller has no user account")
				}
				if events, err = h.humanDefaults(ctx, tx, caller, p, acct); err != nil {
					return nil, err
				}
			} else if isAccount {
				// The id would otherwise be taken from the user's own profile.
				return nil, authz.Denied("create an AI player with a user's id")
			}
			state, err := encode(p)
			if err != nil {
				return nil, err
			}
			if err := tx.Save(ctx, aggregate.Record{Kind: aggregate.KindPlayer, ID: p.GetId(), Owner: caller.UserID, Live: true, State: state}, 0); err != nil {
				return nil, err
			}
			ep, sealed, keyID, err := forEvent(ctx, tx, p, caller.UserID)
			if err != nil {
				return nil, err
			}
			return append([]eventlog.Event{h.event(p.GetId(), &eventspb.PlayerCreated{
				Player: ep, Version: 1, CreatedBy: caller.UserID, CreatedAt: timestamppb.New(h.Now()),
				EmailSealed: sealed, PersonalKeyId: keyID,
			})}, events...), nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("create player: %w", err)
	}
	return p, 1, nil
}

// humanDefaults fills a human player from its account. A role other than
// the account's is a role change: admins only, and it changes the account
// (the role in its tokens) in the same write.
func (h *Handler) humanDefaults(ctx context.Context, tx aggregate.Tx, caller auth.Principal, p *playerpb.Player, acct account) ([]eventlog.Event, error) {
	if p.GetUsername() == "" {
		p.Username = acct.username
	}
	if p.Role == nil || p.GetRole() == acct.role {
		p.Role = proto.String(acct.role)
		return nil, nil
	}
	if !authz.IsAdmin(caller) {
		return nil, authz.Denied("set your own role (admins only)")
	}
	if err := setAccountRole(ctx, tx, p.GetId(), p.GetRole()); err != nil {
		return nil, err
	}
	return []eventlog.Event{h.roleChanged(p.GetId(), p.GetRole(), caller.UserID)}, nil
}

func (h *Handler) roleChanged(userID, role, by string) eventlog.Event {
	return h.userEvent(userID, &eventspb.UserRoleChanged{
		UserId: userID, Role: role, ChangedBy: by, ChangedAt: timestamppb.New(h.Now()),
	})
}

// checkCreate reports every invalid field. A HUMAN player's id is checked
// by the authorization rule instead (it must be the caller's).
func checkCreate(p *playerpb.Player) error {
	var c validate.Checks
	if p.GetType() == playerpb.PlayerType_AI && p.GetId() != "" {
		c.ID("id", p.GetId())
	}
	if p.GetUsername() != "" || p.GetType() != playerpb.PlayerType_HUMAN {
		checkUsername(&c, p.GetUsername())
	}
	checkEmail(&c, p.GetEmail())
	checkTeam(&c, p.Team)
	if p.GetScore() < 0 {
		c.Add("score", "must not be negative")
	}
	checkEnums(&c, &p.Type, &p.Status)
	if p.Role != nil {
		checkRole(&c, p.GetRole())
	}
	return c.Err()
}
