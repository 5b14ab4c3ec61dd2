package projection

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Re-driving a dead letter applies its stored record through the same
// projector's Apply, in one transaction that also marks the dead letter
// re-driven, so a record is applied at most once however often it is
// retried. Run it after fixing what made the record fail (a projector bug,
// a constraint).
//
// Ordering: the partition moved on while the record was dead, so a
// re-driven record takes effect after records that came after it on the
// log. The projectors' events carry the aggregate's version (and state
// events the whole state), and their Apply only writes over an older
// version (`WHERE version < $n`), so a re-driven event that is older than
// what the read model already holds changes nothing instead of rolling it
// back. A projector whose events are deltas without such a check must be
// re-driven with that in mind.

// Lookup finds a projector by name.
type Lookup func(name string) (Projector, bool)

// RedriveOutcome is what a re-drive did.
type RedriveOutcome string

const (
	// Redriven: the record was applied and its dead letter marked re-driven.
	Redriven RedriveOutcome = "redriven"
	// AlreadyRedriven: nothing was done; the record had been applied before.
	AlreadyRedriven RedriveOutcome = "already redriven"
	// StillFailing: Apply failed again; the dead letter stays dead with the
	// new error and one more attempt.
	StillFailing RedriveOutcome = "still failing"
)

// RedriveResult is the outcome of re-driving one dead letter.
type RedriveResult struct {
	ID      int64
	Outcome RedriveOutcome
	Err     error // the new failure when StillFailing
}

// ErrDeadLetterNotFound: no dead letter has the id.
var ErrDeadLetterNotFound = errors.New("no such dead letter")

// ErrUnknownProjector: the dead letter's projector is not in the lookup.
var ErrUnknownProjector = errors.New("projector unknown to this binary")

// RetryDeadLetter re-drives dead letter id through the projector lookup
// finds for it. An error means nothing changed (unknown id or projector, or
// an infrastructure failure, which is worth retrying); a record that fails
// again is a StillFailing result, not an error.
func RetryDeadLetter(ctx context.Context, pool *pgxpool.Pool, lookup Lookup, id int64) (RedriveResult, error) {
	res := RedriveResult{ID: id}
	var name, topic string
	var partition int32
	err := pool.QueryRow(ctx, `SELECT projector, topic, partition FROM projector_dead_letters WHERE id = $1`, id).
		Scan(&name, &topic, &partition)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, fmt.Errorf("dead letter %d: %w", id, ErrDeadLetterNotFound)
	}
	if err != nil {
		return res, fmt.Errorf("dead letter %d: %w", id, err)
	}
	proj, ok := lookup(name)
	if !ok {
		return res, fmt.Errorf("dead letter %d belongs to projector %q: %w", id, name, ErrUnknownProjector)
	}
	hooks, _ := proj.(BatchHooks)
	if hooks != nil {
		hooks.BeforeBatch()
	}
	ctx = withBatchSlot(ctx)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		res.Outcome, res.Err = "", nil
		// Take the partition's offset lock, as a batch of the runner does, so
		// the re-drive is serialized with the partition's live records (and
		// the locks are taken in the runner's order: offset row, dead letter).
		if _, _, err := lockOffset(ctx, tx, name, topic, partition); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+deadLetterColumns+` FROM projector_dead_letters WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		d, err := pgx.CollectExactlyOneRow(rows, scanDeadLetter)
		if err != nil {
			return err
		}
		if d.Status == StatusRedriven {
			res.Outcome = AlreadyRedriven
			return nil
		}
		// A savepoint: a failed Apply is undone, and the dead letter can
		// still be updated in this transaction.
		applyErr := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			env, msg, err := decodeRecord(d.Message())
			if err != nil {
				return err
			}
			return applyDecoded(ctx, sp, proj, env, msg)
		})
		if applyErr == nil {
			res.Outcome = Redriven
			_, err := tx.Exec(ctx, `UPDATE projector_dead_letters SET status = 'redriven', redriven_at = now()
				WHERE id = $1`, id)
			return err
		}
		if IsTransient(applyErr) {
			return applyErr
		}
		res.Outcome, res.Err = StillFailing, applyErr
		_, err = tx.Exec(ctx, `UPDATE projector_dead_letters SET error = $2, attempts = attempts + 1,
			last_failed_at = now() WHERE id = $1`, id, failure{err: applyErr}.text())
		return err
	})
	if err != nil {
		return RedriveResult{ID: id}, fmt.Errorf("re-drive dead letter %d: %w", id, err)
	}
	if hooks != nil && res.Outcome == Redriven {
		hooks.AfterCommit(ctx)
	}
	return res, nil
}

// RetryOpenDeadLetters re-drives every open dead letter (of projector, or
// of all projectors when it is ”), oldest first, and reports each outcome
// to each (with the error that kept one from being tried). It goes on after
// a failure; it returns an error only if the dead letters cannot be listed.
func RetryOpenDeadLetters(ctx context.Context, pool *pgxpool.Pool, lookup Lookup, projector string,
	each func(RedriveResult, error)) error {
	open, err := ListDeadLetters(ctx, pool, ListOptions{Projector: projector})
	if err != nil {
		return err
	}
	for _, d := range open {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		each(RetryDeadLetter(ctx, pool, lookup, d.ID))
	}
	return nil
}
