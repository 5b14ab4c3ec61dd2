// Package aggregate is the command side's write model for games, sessions,
// entities and players: the current state of each aggregate (a protobuf
// snapshot) and its version. A command loads an aggregate, decides, and saves
// the new state with the version it loaded (optimistic concurrency) in the
// same transaction that publishes the event; a concurrent change makes the
// save fail with ABORTED, so no change is ever lost silently.
//
// This is not a read model: queries never read it, and read models are
// built only from Kafka by the projectors.
package aggregate

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Kind names an aggregate type.
type Kind string

const (
	KindGame    Kind = "game"
	KindSession Kind = "session"
	KindEntity  Kind = "entity"
	KindPlayer  Kind = "player"
)

// Record is one aggregate's stored state.
type Record struct {
	Kind    Kind
	ID      string
	Parent  string // e.g. a session's game, an entity's session
	Owner   string // user who created it
	Live    bool   // false once deleted or finished
	Version int64  // 0 = does not exist yet
	State   []byte // protobuf snapshot
}

// Store keeps aggregates in command_aggregates.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// ErrNotFound means the aggregate does not exist.
var ErrNotFound = errors.New("aggregate not found")

// Tx is a write transaction over aggregates.
type Tx struct{ tx pgx.Tx }

// Load reads an aggregate outside any transaction.
func (s *Store) Load(ctx context.Context, kind Kind, id string) (Record, error) {
	return load(ctx, s.pool, kind, id, false)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func load(ctx context.Context, q querier, kind Kind, id string, lock bool) (Record, error) {
	sql := `SELECT coalesce(parent_id, ''), owner_id, live, version, state FROM command_aggregates WHERE kind = $1 AND id = $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	r := Record{Kind: kind, ID: id}
	err := q.QueryRow(ctx, sql, string(kind), id).Scan(&r.Parent, &r.Owner, &r.Live, &r.Version, &r.State)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, storeErr(err)
	}
	return r, nil
}

// Lock reads an aggregate and locks it until the transaction ends, so
// decisions that span aggregates (e.g. a game's session limit) serialize.
func (t Tx) Lock(ctx context.Context, kind Kind, id string) (Record, error) {
	return load(ctx, t.tx, kind, id, true)
}

// Get reads an aggregate inside the transaction without locking it. Reads
// inside a write must use the transaction's connection: taking a second one
// from the pool could deadlock once every connection holds a transaction.
func (t Tx) Get(ctx context.Context, kind Kind, id string) (Record, error) {
	return load(ctx, t.tx, kind, id, false)
}

// PG is the underlying transaction, for writing a command's events to the
// outbox in the same commit as its aggregates.
func (t Tx) PG() pgx.Tx { return t.tx }

// Exec and QueryRow run other statements in the same transaction, for the
// few commands that must change another command-side table atomically with
// an aggregate (a player's role is also its account's role).
func (t Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	if err != nil {
		return tag, storeErr(err)
	}
	return tag, nil
}

// QueryRow: see Exec. Scan errors are the caller's to classify.
func (t Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.tx.QueryRow(ctx, sql, args...)
}

// CountLiveChildren counts live aggregates of kind under parent.
func (t Tx) CountLiveChildren(ctx context.Context, kind Kind, parent string) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM command_aggregates WHERE kind = $1 AND parent_id = $2 AND live`,
		string(kind), parent).Scan(&n)
	if err != nil {
		return 0, storeErr(err)
	}
	return n, nil
}

// Save writes r as version expected+1. expected 0 creates it.
func (t Tx) Save(ctx context.Context, r Record, expected int64) error {
	var tag pgconn.CommandTag
	var err error
	if expected == 0 {
		tag, err = t.tx.Exec(ctx, `INSERT INTO command_aggregates (kind, id, parent_id, owner_id, live, version, state)
			VALUES ($1, $2, nullif($3, ''), $4, $5, 1, $6) ON CONFLICT DO NOTHING`,
			string(r.Kind), r.ID, r.Parent, r.Owner, r.Live, r.State)
	} else {
		tag, err = t.tx.Exec(ctx, `UPDATE command_aggregates SET live = $3, version = version + 1, state = $4, updated_at = now()
			WHERE kind = $1 AND id = $2 AND version = $5`,
			string(r.Kind), r.ID, r.Live, r.State, expected)
	}
	if err != nil {
		return storeErr(err)
	}
	if tag.RowsAffected() != 1 {
		if expected == 0 {
			return apperr.AlreadyExists(fmt.Sprintf("%s %s already exists", r.Kind, r.ID))
		}
		return apperr.Aborted(fmt.Sprintf("%s %s was changed concurrently (expected version %d); reload and retry", r.Kind, r.ID, expected))
	}
	return nil
}

// InTx runs fn in a transaction; fn stages its events in the outbox before
// returning, so state and events commit together.
func (s *Store) InTx(ctx context.Context, fn func(Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(Tx{tx: tx}); err != nil {
		return err
	}
	// Commit even if the caller has gone: the decision is complete, and a
	// client that retries with its idempotency key gets this outcome.
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return storeErr(err)
	}
	return nil
}

func storeErr(err error) error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "40P01" {
		return apperr.Aborted("concurrent change; retry")
	}
	return apperr.Unavailable("write model unavailable", fmt.Errorf("command_aggregates: %w", err))
}
