package aggregate

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oof-gg/platform/pkg/db"
)

// Outcome is the stored first result of a create command sent with an
// idempotency key.
type Outcome struct {
	Caller, Command, Key string
	RequestHash          []byte
	Result               []byte // the command's result message
}

// ErrOutcomeTaken means a concurrent command with the same key committed
// first; the caller should read that outcome.
var ErrOutcomeTaken = errors.New("idempotency key taken by a concurrent command")

// LookupOutcome returns the stored outcome of (caller, command, key).
func (s *Store) LookupOutcome(ctx context.Context, caller, command, key string) (Outcome, bool, error) {
	o := Outcome{Caller: caller, Command: command, Key: key}
	err := s.pool.QueryRow(ctx, `SELECT request_hash, result FROM command_idempotency
		WHERE caller = $1 AND command = $2 AND key = $3`, caller, command, key).Scan(&o.RequestHash, &o.Result)
	if errors.Is(err, pgx.ErrNoRows) {
		return Outcome{}, false, nil
	}
	if err != nil {
		return Outcome{}, false, storeErr(err)
	}
	return o, true, nil
}

// SaveOutcome stores o with the transaction's commit. A twin that got
// there first (the insert waits on the key's row, then collides) fails the
// commit with ErrOutcomeTaken, and nothing of this transaction is written.
func (t Tx) SaveOutcome(_ context.Context, o Outcome) {
	t.Queue(db.Step{
		SQL: `INSERT INTO command_idempotency (caller, command, key, request_hash, result)
			VALUES ($1, $2, $3, $4, $5)`,
		Args: []any{o.Caller, o.Command, o.Key, o.RequestHash, o.Result},
		Fail: func(err error) error {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" {
				return ErrOutcomeTaken
			}
			return storeErr(err)
		},
	})
}

// PruneOutcomes forgets outcomes older than keep.
func (s *Store) PruneOutcomes(ctx context.Context, keep time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM command_idempotency WHERE created_at < now() - $1::interval`, keep.String())
	if err != nil {
		return 0, storeErr(err)
	}
	return tag.RowsAffected(), nil
}
