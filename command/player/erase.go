package player

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/validate"
)

// Erased is what Erase did.
type Erased struct {
	KeyIDs    []string // personal-data keys destroyed
	PlayerIDs []string // players whose e-mail was cleared
	Changed   bool     // false: already erased, nothing written
}

// Erase erases a user's personal data without rewriting the log
// (docs/events.md, "Personal data"), in one transaction: the user's
// personal-data keys are destroyed (every sealed field under them becomes
// unreadable, on every topic, and every process's key cache is told at
// commit), the account's e-mail is removed from auth_accounts (sign-in by
// e-mail stops; by username it goes on), the players the user owns lose
// their e-mail in the write model and on the log (PlayerUpdated without
// it), the user's stored CreatePlayer outcomes (which hold the e-mail) are
// forgotten, and UserErased tells every projector to drop the user's
// personal fields. by is the admin asking ("" for the operator CLI); the
// caller has authorized the call. Here rather than in command/auth because
// it changes player aggregates in the same write.
func (h *Handler) Erase(ctx context.Context, userID, by string) (Erased, error) {
	var c validate.Checks
	c.ID("user_id", userID)
	if err := c.Err(); err != nil {
		return Erased{}, err
	}
	var res Erased
	err := h.execute(ctx, func(tx aggregate.Tx) ([]eventlog.Event, error) {
		res = Erased{}
		// Locks the account: a concurrent erasure or role change waits.
		if _, ok, err := loadAccount(ctx, tx, userID); err != nil {
			return nil, err
		} else if !ok {
			return nil, apperr.NotFound("no user account with this id")
		}
		tag, err := tx.Exec(ctx, `UPDATE auth_accounts SET email = NULL WHERE user_id = $1::uuid AND email IS NOT NULL`, userID)
		if err != nil {
			return nil, err
		}
		keys, keysChanged, err := personal.Erase(ctx, tx, userID, uuid.NewString())
		if err != nil {
			return nil, apperr.Unavailable("personal-data keys unavailable", err)
		}
		events, err := h.eraseOwnedPlayers(ctx, tx, userID, by, &res)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM command_idempotency WHERE caller = $1 AND command = 'CreatePlayer'`, userID); err != nil {
			return nil, err
		}
		res.KeyIDs = keys
		res.Changed = tag.RowsAffected() > 0 || keysChanged || len(events) > 0
		if !res.Changed {
			return nil, nil
		}
		return append(events, h.userEvent(userID, &eventspb.UserErased{
			UserId: userID, PersonalKeyIds: keys, ErasedBy: by, ErasedAt: timestamppb.New(h.Now()),
		})), nil
	})
	if err != nil {
		return Erased{}, fmt.Errorf("erase user: %w", err)
	}
	return res, nil
}

// eraseOwnedPlayers clears the e-mail of every player userID owns (its
// HUMAN player and the AI players it created), each with a PlayerUpdated.
func (h *Handler) eraseOwnedPlayers(ctx context.Context, tx aggregate.Tx, userID, by string, res *Erased) ([]eventlog.Event, error) {
	var ids []string
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM command_aggregates
		WHERE kind = $1 AND owner_id = $2`, string(aggregate.KindPlayer), userID).Scan(&ids); err != nil {
		return nil, apperr.Unavailable("write model unavailable", err)
	}
	var events []eventlog.Event
	for _, id := range ids {
		rec, err := tx.Lock(ctx, aggregate.KindPlayer, id)
		if err != nil {
			return nil, err
		}
		p := &playerpb.Player{}
		if err := proto.Unmarshal(rec.State, p); err != nil {
			return nil, apperr.Internal("decode player", err)
		}
		if p.Email == nil {
			continue
		}
		p.Email = nil
		if rec.State, err = encode(p); err != nil {
			return nil, err
		}
		if err := tx.Save(ctx, rec, rec.Version); err != nil {
			return nil, err
		}
		res.PlayerIDs = append(res.PlayerIDs, id)
		events = append(events, h.event(id, &eventspb.PlayerUpdated{
			Player: p, Version: rec.Version + 1, UpdatedBy: by, UpdatedAt: timestamppb.New(h.Now()), PreviousRole: p.GetRole(),
		}))
	}
	return events, nil
}
