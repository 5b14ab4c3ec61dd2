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
type Store struct {
	pool  *pgxpool.Pool
	group *groupCommitter
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, group: &groupCommitter{pool: pool}}
}

// ErrNotFound means the aggregate does not exist.
var ErrNotFound = errors.New("aggregate not found")

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

// InTx runs fn in a write transaction and commits it. fn reads and locks
// aggregates, saves them and queues its other writes (its events in the
// outbox); the saves and queued writes go to PostgreSQL with the COMMIT,
// in one round trip, so nothing is written unless all of it is.
func (s *Store) InTx(ctx context.Context, fn func(Tx) error) error {
	t := Tx{st: &txState{store: s}}
	defer t.st.release()
	if err := fn(t); err != nil {
		t.st.rollback(context.WithoutCancel(ctx))
		return err
	}
	// Commit even if the caller has gone: the decision is complete, and a
	// client that retries with its idempotency key gets this outcome.
	return t.st.commit(context.WithoutCancel(ctx))
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

// Scope is an aggregate read with its parent, in one query (e.g. a session
// and its game, which every entity change checks).
type Scope struct {
	Record
	Parent Record
}

// LoadWithParent reads kind/id and its parent of parentKind, without
// locking either.
func (s *Store) LoadWithParent(ctx context.Context, kind Kind, id string, parentKind Kind) (Scope, error) {
	sc := Scope{Record: Record{Kind: kind, ID: id}, Parent: Record{Kind: parentKind}}
	err := s.pool.QueryRow(ctx, `SELECT coalesce(a.parent_id, ''), a.owner_id, a.live, a.version, a.state,
			p.id, p.owner_id, p.live, p.version, p.state
		FROM command_aggregates a JOIN command_aggregates p ON p.kind = $3 AND p.id = a.parent_id
		WHERE a.kind = $1 AND a.id = $2`, string(kind), id, string(parentKind)).Scan(
		&sc.Record.Parent, &sc.Owner, &sc.Live, &sc.Version, &sc.State,
		&sc.Parent.ID, &sc.Parent.Owner, &sc.Parent.Live, &sc.Parent.Version, &sc.Parent.State)
	if errors.Is(err, pgx.ErrNoRows) {
		return Scope{}, ErrNotFound
	}
	if err != nil {
		return Scope{}, storeErr(err)
	}
	return sc, nil
}
