// Package auth is the command side of accounts and tokens: Register, Login,
// RefreshToken and TwitchLogin. It validates, authorizes and records facts as
// events on oof.user.v1; it never writes the users read model.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Account is the command side's record of a user's credentials.
type Account struct {
	UserID       string
	Username     string
	Email        string
	PasswordHash string // empty for Twitch-only accounts
	Role         string
	TwitchUserID string
}

// AccountStore is the auth command side's own write model (auth_accounts):
// credentials plus the unique claims on usernames and e-mails.
type AccountStore struct{ pool *pgxpool.Pool }

// NewAccountStore returns a store on pool.
func NewAccountStore(pool *pgxpool.Pool) *AccountStore { return &AccountStore{pool: pool} }

const accountColumns = `user_id::text, username, coalesce(email, ''), coalesce(password_hash, ''), role, coalesce(twitch_user_id, '')`

func scanAccount(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.UserID, &a.Username, &a.Email, &a.PasswordHash, &a.Role, &a.TwitchUserID)
	return a, err
}

// ErrNoAccount means no account matched.
var ErrNoAccount = errors.New("no such account")

// ByLogin finds an account by username, or by e-mail when id contains '@'.
func (s *AccountStore) ByLogin(ctx context.Context, id string) (Account, error) {
	q := `SELECT ` + accountColumns + ` FROM auth_accounts WHERE lower(username) = lower($1)`
	if strings.Contains(id, "@") {
		q = `SELECT ` + accountColumns + ` FROM auth_accounts WHERE lower(email) = lower($1)`
	}
	return s.one(ctx, q, id)
}

// CheckFree fails ALREADY_EXISTS when username or email is taken.
func (s *AccountStore) CheckFree(ctx context.Context, username, email string) error {
	var nameTaken, emailTaken bool
	err := s.pool.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM auth_accounts WHERE lower(username) = lower($1)),
			EXISTS (SELECT 1 FROM auth_accounts WHERE lower(email) = lower(nullif($2, '')))`,
		username, email).Scan(&nameTaken, &emailTaken)
	switch {
	case err != nil:
		return storeError(err)
	case nameTaken:
		return apperr.AlreadyExists("username is already taken")
	case emailTaken:
		return apperr.AlreadyExists("e-mail is already registered")
	}
	return nil
}

// ByID finds an account by user id.
func (s *AccountStore) ByID(ctx context.Context, userID string) (Account, error) {
	return s.one(ctx, `SELECT `+accountColumns+` FROM auth_accounts WHERE user_id = $1::uuid`, userID)
}

// ByTwitchID finds the account a Twitch user is linked to.
func (s *AccountStore) ByTwitchID(ctx context.Context, twitchID string) (Account, error) {
	return s.one(ctx, `SELECT `+accountColumns+` FROM auth_accounts WHERE twitch_user_id = $1`, twitchID)
}

func (s *AccountStore) one(ctx context.Context, q string, arg any) (Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, q, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, ErrNoAccount
	}
	if err != nil {
		return Account{}, storeError(err)
	}
	return a, nil
}

// Create inserts a and, in the same transaction, runs stage (which writes
// the events to the outbox). The insert's
// unique indexes make concurrent registrations of one name serialize: the
// loser waits for the winner's commit and then fails ALREADY_EXISTS. The
// account and its events commit together, so the log never has a user the
// accounts lack, nor the other way round.
func (s *AccountStore) Create(ctx context.Context, a Account, stage func(context.Context, pgx.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO auth_accounts (user_id, username, email, password_hash, role, twitch_user_id)
			VALUES ($1::uuid, $2, nullif($3, ''), nullif($4, ''), $5, nullif($6, ''))`,
			a.UserID, a.Username, a.Email, a.PasswordHash, a.Role, a.TwitchUserID)
		if err != nil {
			return storeError(err)
		}
		return stage(ctx, tx)
	})
}

// LinkTwitch attaches a Twitch identity to an existing account, staging
// its events in the same transaction.
func (s *AccountStore) LinkTwitch(ctx context.Context, userID, twitchID string, stage func(context.Context, pgx.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE auth_accounts SET twitch_user_id = $2
			WHERE user_id = $1::uuid AND twitch_user_id IS NULL`, userID, twitchID)
		if err != nil {
			return storeError(err)
		}
		if tag.RowsAffected() != 1 {
			return apperr.FailedPrecondition("account already has a linked Twitch identity")
		}
		return stage(ctx, tx)
	})
}

func (s *AccountStore) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return storeError(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	// The decision is complete: commit even if the caller has gone.
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return storeError(err)
	}
	return nil
}

// storeError classifies database errors: unique violations are the client's
// problem, everything else is an outage.
func storeError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		switch {
		case strings.Contains(pgErr.ConstraintName, "username"):
			return apperr.AlreadyExists("username is already taken")
		case strings.Contains(pgErr.ConstraintName, "email"):
			return apperr.AlreadyExists("e-mail is already registered")
		case strings.Contains(pgErr.ConstraintName, "twitch"):
			return apperr.AlreadyExists("Twitch account is already linked to another user")
		}
		return apperr.AlreadyExists("account already exists")
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	return apperr.Unavailable("account store unavailable", fmt.Errorf("auth_accounts: %w", err))
}
