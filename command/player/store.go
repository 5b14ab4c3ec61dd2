package player

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
)

// writeTx is one player write. It covers the player's write-model row in
// command_aggregates (same rows and version rule as pkg/aggregate) and the
// account row in auth_accounts, because a HUMAN player's role is its
// account's role (the one put into JWTs): an admin's role change must commit
// the player, the account and the events together or not at all, and
// aggregate.Tx cannot write auth_accounts.
type writeTx struct{ tx pgx.Tx }

// load reads a player without locking it: the decision is optimistic and
// save fails with ABORTED if another write got in between.
func (t writeTx) load(ctx context.Context, id string) (aggregate.Record, error) {
	r := aggregate.Record{Kind: aggregate.KindPlayer, ID: id}
	err := t.tx.QueryRow(ctx, `SELECT owner_id, live, version, state FROM command_aggregates WHERE kind = $1 AND id = $2`,
		string(aggregate.KindPlayer), id).Scan(&r.Owner, &r.Live, &r.Version, &r.State)
	if errors.Is(err, pgx.ErrNoRows) {
		return aggregate.Record{}, apperr.NotFound("player not found")
	}
	if err != nil {
		return aggregate.Record{}, storeErr("load player", err)
	}
	return r, nil
}

// save writes r as version expected+1; expected 0 creates it. A lost race
// (or a second profile for the same user) fails instead of overwriting.
func (t writeTx) save(ctx context.Context, r aggregate.Record, expected int64) error {
	var tag pgconn.CommandTag
	var err error
	if expected == 0 {
		tag, err = t.tx.Exec(ctx, `INSERT INTO command_aggregates (kind, id, owner_id, live, version, state)
			VALUES ($1, $2, $3, true, 1, $4) ON CONFLICT DO NOTHING`,
			string(aggregate.KindPlayer), r.ID, r.Owner, r.State)
	} else {
		tag, err = t.tx.Exec(ctx, `UPDATE command_aggregates SET version = version + 1, state = $3, updated_at = now()
			WHERE kind = $1 AND id = $2 AND version = $4`,
			string(aggregate.KindPlayer), r.ID, r.State, expected)
	}
	if err != nil {
		return storeErr("save player", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if expected == 0 {
		return apperr.AlreadyExists(fmt.Sprintf("player %s already exists", r.ID))
	}
	return apperr.Aborted(fmt.Sprintf("player %s was changed concurrently (expected version %d); reload and retry", r.ID, expected))
}

// account is what a player write needs of a user account.
type account struct {
	username, role string
}

// account reads (and locks, so a concurrent role change waits) the user
// account with id; ok is false when there is none.
func (t writeTx) account(ctx context.Context, id string) (a account, ok bool, err error) {
	err = t.tx.QueryRow(ctx, `SELECT username, role FROM auth_accounts WHERE user_id = $1::uuid FOR UPDATE`, id).
		Scan(&a.username, &a.role)
	if errors.Is(err, pgx.ErrNoRows) {
		return account{}, false, nil
	}
	if err != nil {
		return account{}, false, storeErr("load account", err)
	}
	return a, true, nil
}

// setAccountRole changes the role new logins and refreshes put into tokens.
func (t writeTx) setAccountRole(ctx context.Context, id, role string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE auth_accounts SET role = $2 WHERE user_id = $1::uuid`, id, role)
	if err != nil {
		return storeErr("set account role", err)
	}
	if tag.RowsAffected() != 1 {
		return apperr.FailedPrecondition("the player's user account no longer exists")
	}
	return nil
}

// inTx runs fn in a transaction and commits only if fn succeeded; fn
// publishes its events before returning, so nothing commits that the log
// lacks.
func inTx(ctx context.Context, pool *pgxpool.Pool, fn func(writeTx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return storeErr("begin", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(writeTx{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return storeErr("commit", err)
	}
	return nil
}

// storeErr keeps classified errors and turns deadlocks into ABORTED (the
// client may retry); anything else is an outage of the write model.
func storeErr(what string, err error) error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "40P01" {
		return apperr.Aborted("concurrent change; retry")
	}
	return apperr.Unavailable("write model unavailable", fmt.Errorf("%s: %w", what, err))
}
