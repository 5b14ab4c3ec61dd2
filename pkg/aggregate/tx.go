package aggregate

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/db"
)

// Tx is a write transaction over aggregates. It costs few round trips:
// BEGIN goes out with its first statement, and Save, like the writes queued
// with Queue, is sent with the COMMIT in one pipeline (see Store.InTx). A
// save that loses a race therefore fails the commit, not the Save call.
type Tx struct{ st *txState }

type txState struct {
	store  *Store
	held   *pgxpool.Conn // taken with the first statement that runs now
	begun  bool
	queued []db.Step
}

// conn is the transaction's connection, taken from the pool when first
// needed: a transaction that only queues writes never holds one while it
// decides, and commits with others (groupCommitter).
func (st *txState) conn(ctx context.Context) (*pgx.Conn, error) {
	if st.held == nil {
		c, err := st.store.pool.Acquire(ctx)
		if err != nil {
			return nil, storeErr(err)
		}
		st.held = c
	}
	return st.held.Conn(), nil
}

// release gives the connection back; one left inside a transaction (a
// failed rollback) is closed by the pool.
func (st *txState) release() {
	if st.held != nil {
		st.held.Release()
		st.held = nil
	}
}

// Lock reads an aggregate and locks it until the transaction ends, so
// decisions that span aggregates (e.g. a game's session limit) serialize.
func (t Tx) Lock(ctx context.Context, kind Kind, id string) (Record, error) {
	return load(ctx, t, kind, id, true)
}

// Get reads an aggregate inside the transaction without locking it. Reads
// inside a write must use the transaction's connection: taking a second one
// from the pool could deadlock once every connection holds a transaction.
func (t Tx) Get(ctx context.Context, kind Kind, id string) (Record, error) {
	return load(ctx, t, kind, id, false)
}

// CountLiveChildren counts live aggregates of kind under parent.
func (t Tx) CountLiveChildren(ctx context.Context, kind Kind, parent string) (int, error) {
	var n int
	err := t.QueryRow(ctx, `SELECT count(*) FROM command_aggregates WHERE kind = $1 AND parent_id = $2 AND live`,
		string(kind), parent).Scan(&n)
	if err != nil {
		return 0, storeErr(err)
	}
	return n, nil
}

// Save writes r as version expected+1 (expected 0 creates it) when the
// transaction commits. If another write got there first, the commit fails
// ALREADY_EXISTS (a create) or ABORTED (an update), and nothing is written.
func (t Tx) Save(_ context.Context, r Record, expected int64) error {
	if expected == 0 {
		t.Queue(db.Step{
			SQL: `INSERT INTO command_aggregates (kind, id, parent_id, owner_id, live, version, state)
				VALUES ($1, $2, nullif($3, ''), $4, $5, 1, $6)`,
			Args: []any{string(r.Kind), r.ID, r.Parent, r.Owner, r.Live, r.State},
			Fail: func(err error) error {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == "23505" {
					return apperr.AlreadyExists(fmt.Sprintf("%s %s already exists", r.Kind, r.ID))
				}
				return storeErr(err)
			},
		})
		return nil
	}
	// A lost race must fail the statement itself (the COMMIT follows in the
	// same pipeline): dividing by the number of rows updated does.
	t.Queue(db.Step{
		SQL: `WITH saved AS (
				UPDATE command_aggregates SET live = $3, version = version + 1, state = $4, updated_at = now()
				WHERE kind = $1 AND id = $2 AND version = $5 RETURNING 1)
			SELECT 1 / count(*) FROM saved`,
		Args: []any{string(r.Kind), r.ID, r.Live, r.State, expected},
		Scan: func(row pgx.Row) error { var one int; return row.Scan(&one) },
		Fail: func(err error) error {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "22012" {
				return apperr.Aborted(fmt.Sprintf("%s %s was changed concurrently (expected version %d); reload and retry", r.Kind, r.ID, expected))
			}
			return storeErr(err)
		},
	})
	return nil
}

// AddChild counts one more live childKind under parent (kind parentKind)
// when the transaction commits; if it already has max, the commit fails
// RESOURCE_EXHAUSTED with full. See AddChildOr.
func (t Tx) AddChild(parentKind Kind, parent string, childKind Kind, max int, full string) {
	t.AddChildOr(parentKind, parent, childKind, max, apperr.ResourceExhausted(full, 0))
}

// RemoveChild counts one live childKind less under parent when the
// transaction commits.
func (t Tx) RemoveChild(parentKind Kind, parent string, childKind Kind) {
	t.Queue(db.Step{
		SQL: `UPDATE aggregate_children SET live = live - 1
			WHERE parent_kind = $1 AND parent_id = $2 AND child_kind = $3 AND live > 0`,
		Args: []any{string(parentKind), parent, string(childKind)},
	})
}

// Queue adds a write that goes out with the commit, after the saves.
func (t Tx) Queue(steps ...db.Step) { t.st.queued = append(t.st.queued, steps...) }

// Exec runs a statement now, in the transaction, for the few commands that
// must change another command-side table atomically with an aggregate (a
// player's role is also its account's role).
func (t Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	conn, err := t.st.conn(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	if !t.st.begun {
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		b.Queue(sql, args...)
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return pgconn.CommandTag{}, storeErr(err)
		}
		t.st.begun = true
		tag, err := br.Exec()
		if err != nil {
			return tag, storeErr(err)
		}
		return tag, br.Close()
	}
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		return tag, storeErr(err)
	}
	return tag, nil
}

// QueryRow runs a query now, in the transaction. Scan errors are the
// caller's to classify.
func (t Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	conn, err := t.st.conn(ctx)
	if err != nil {
		return errRow{err}
	}
	if t.st.begun {
		return conn.QueryRow(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(sql, args...)
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return errRow{err}
	}
	t.st.begun = true
	return batchRow{br: br, row: br.QueryRow()}
}

// batchRow is the row of a lazily begun transaction's first query; the
// pipeline is closed once it is read.
type batchRow struct {
	br  pgx.BatchResults
	row pgx.Row
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// commit sends the queued writes and COMMIT in one pipeline. A
// transaction that has run nothing yet commits with others.
func (st *txState) commit(ctx context.Context) error {
	if !st.begun {
		if len(st.queued) == 0 {
			return nil
		}
		return st.store.group.commit(ctx, st.queued)
	}
	conn, err := st.conn(ctx)
	if err != nil {
		return err
	}
	if len(st.queued) == 0 {
		tag, err := conn.Exec(ctx, `COMMIT`)
		if err != nil {
			return storeErr(err)
		}
		if tag.String() != "COMMIT" {
			return apperr.Aborted("transaction rolled back; retry")
		}
		return nil
	}
	b := &pgx.Batch{}
	for _, s := range st.queued {
		b.Queue(s.SQL, s.Args...)
	}
	b.Queue(`COMMIT`)
	br := conn.SendBatch(ctx, b)
	err = readSteps(br, st.queued)
	// Once the COMMIT answered COMMIT, the transaction is durable: an error
	// closing the pipeline after it must not report the command as failed
	// (a client would retry a change that happened).
	_ = br.Close()
	if err != nil {
		st.rollback(ctx)
	}
	return err
}

func readSteps(br pgx.BatchResults, steps []db.Step) error {
	for _, s := range steps {
		var err error
		if s.Scan != nil {
			err = s.Scan(br.QueryRow())
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			if s.Fail != nil {
				return s.Fail(err)
			}
			return storeErr(err)
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return storeErr(err)
	}
	if tag.String() != "COMMIT" {
		return apperr.Aborted("transaction rolled back; retry")
	}
	return nil
}

// rollback ends a transaction that will not commit (a no-op when none
// began or it already ended).
func (st *txState) rollback(ctx context.Context) {
	if st.begun && st.held != nil && st.held.Conn().PgConn().TxStatus() != 'I' {
		_, _ = st.held.Exec(ctx, `ROLLBACK`)
	}
}
