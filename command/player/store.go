package player

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
)

// A HUMAN player's role is its account's role (the one put into JWTs), so a
// role change must commit the player, the account and the events together:
// these run inside the command's aggregate transaction.

// account is what a player write needs of a user account.
type account struct {
	username, role string
}

// loadAccount reads (and locks, so a concurrent role change waits) the user
// account with id; ok is false when there is none.
func loadAccount(ctx context.Context, tx aggregate.Tx, id string) (a account, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT username, role FROM auth_accounts WHERE user_id = $1::uuid FOR UPDATE`, id).
		Scan(&a.username, &a.role)
	if errors.Is(err, pgx.ErrNoRows) {
		return account{}, false, nil
	}
	if err != nil {
		return account{}, false, apperr.Unavailable("account store unavailable", err)
	}
	return a, true, nil
}

// setAccountRole changes the role new logins and refreshes put into tokens.
func setAccountRole(ctx context.Context, tx aggregate.Tx, id, role string) error {
	tag, err := tx.Exec(ctx, `UPDATE auth_accounts SET role = $2 WHERE user_id = $1::uuid`, id, role)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return apperr.FailedPrecondition("the player's user account no longer exists")
	}
	return nil
}
