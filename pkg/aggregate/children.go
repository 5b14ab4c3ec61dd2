package aggregate

import (
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/db"
)

// AddChildBytes changes by delta the bytes held by the live childKind
// children of parent, on the counter row AddChild keeps, when the
// transaction commits. A growth that would take the total over max fails
// the commit RESOURCE_EXHAUSTED with full; a shrink (delta <= 0) always
// passes. Like AddChild, the row is locked only for the moment of the
// change, so concurrent writes serialize briefly and the limit holds
// exactly.
func (t Tx) AddChildBytes(parentKind Kind, parent string, childKind Kind, delta, max int64, full string) {
	// The SELECT inserts nothing when delta alone exceeds max, and the
	// update's WHERE refuses a growth past max; either way no row is
	// returned and the division fails the statement (and so the commit).
	// greatest() keeps a shrink of a row that predates the byte count from
	// going below zero.
	t.Queue(db.Step{
		SQL: `WITH sized AS (
				INSERT INTO aggregate_children AS c (parent_kind, parent_id, child_kind, live, bytes)
				SELECT $1::text, $2::text, $3::text, 0, greatest($4::bigint, 0) WHERE $4::bigint <= $5::bigint
				ON CONFLICT (parent_kind, parent_id, child_kind) DO UPDATE SET bytes = greatest(c.bytes + $4::bigint, 0)
				WHERE $4::bigint <= 0 OR c.bytes + $4::bigint <= $5::bigint
				RETURNING 1)
			SELECT 1 / count(*) FROM sized`,
		Args: []any{string(parentKind), parent, string(childKind), delta, max},
		Scan: func(row pgx.Row) error { var one int; return row.Scan(&one) },
		Fail: func(err error) error {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "22012" {
				return apperr.ResourceExhausted(full, 0)
			}
			return storeErr(err)
		},
	})
}

// AddChildOr counts one more live childKind under parent (kind parentKind)
// when the transaction commits; if it already has max (a max below 1 is
// full from the start), the commit fails with full. The counter row is
// locked only for the moment of the increment, so concurrent adds
// serialize briefly and the cap holds exactly.
func (t Tx) AddChildOr(parentKind Kind, parent string, childKind Kind, max int, full error) {
	// No row returned (a fresh row over max, or the update's WHERE) fails
	// the statement, and so the commit, by the division.
	t.Queue(db.Step{
		SQL: `WITH added AS (
				INSERT INTO aggregate_children AS c (parent_kind, parent_id, child_kind, live)
				SELECT $1::text, $2::text, $3::text, 1 WHERE 1 <= $4::int
				ON CONFLICT (parent_kind, parent_id, child_kind) DO UPDATE SET live = c.live + 1 WHERE c.live < $4::int
				RETURNING 1)
			SELECT 1 / count(*) FROM added`,
		Args: []any{string(parentKind), parent, string(childKind), max},
		Scan: func(row pgx.Row) error { var one int; return row.Scan(&one) },
		Fail: func(err error) error {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "22012" {
				return full
			}
			return storeErr(err)
		},
	})
}

// AddChildSized is AddChild and AddChildBytes (bytes >= 0) in one
// statement: a create counts one more child and its bytes on the counter
// row at once, which is what nearly every create does. It fails the commit
// RESOURCE_EXHAUSTED with fullCount or fullBytes, whichever limit the row
// was at.
func (t Tx) AddChildSized(parentKind Kind, parent string, childKind Kind, maxCount int, bytes, maxBytes int64, fullCount, fullBytes string) {
	// A refusal must fail the statement in PostgreSQL (the COMMIT follows
	// in the same pipeline), and say which limit: a division by zero for
	// the count, a failed cast (22P02) for the bytes. cur, read without a
	// lock at the statement's start, only picks which; the refusal itself
	// is decided on the locked row by the upsert's WHERE.
	t.Queue(db.Step{
		SQL: `WITH cur AS (
				SELECT live FROM aggregate_children WHERE parent_kind = $1 AND parent_id = $2 AND child_kind = $3
			), added AS (
				INSERT INTO aggregate_children AS c (parent_kind, parent_id, child_kind, live, bytes)
				SELECT $1::text, $2::text, $3::text, 1, $5::bigint WHERE 1 <= $4::int AND $5::bigint <= $6::bigint
				ON CONFLICT (parent_kind, parent_id, child_kind) DO UPDATE SET live = c.live + 1, bytes = c.bytes + $5::bigint
				WHERE c.live < $4::int AND c.bytes + $5::bigint <= $6::bigint
				RETURNING 1)
			SELECT CASE WHEN (SELECT count(*) FROM added) = 1 THEN 1
				WHEN coalesce((SELECT live FROM cur), 0) >= $4::int THEN 1 / (SELECT count(*) FROM added)::int
				ELSE ('bytes-full-' || (SELECT count(*) FROM added))::int END`,
		Args: []any{string(parentKind), parent, string(childKind), maxCount, bytes, maxBytes},
		Scan: func(row pgx.Row) error { var one int; return row.Scan(&one) },
		Fail: func(err error) error {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				switch pgErr.Code {
				case "22012":
					return apperr.ResourceExhausted(fullCount, 0)
				case "22P02":
					return apperr.ResourceExhausted(fullBytes, 0)
				}
			}
			return storeErr(err)
		},
	})
}
