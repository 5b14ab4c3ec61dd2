package projection

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func loadOffset(ctx context.Context, pool *pgxpool.Pool, projector, topic string, partition int32) (int64, bool, error) {
	var next int64
	err := pool.QueryRow(ctx, `SELECT next_offset FROM projector_offsets
		WHERE projector = $1 AND topic = $2 AND partition = $3`, projector, topic, partition).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("load offset %s %s/%d: %w", projector, topic, partition, err)
	}
	return next, true, nil
}

// lockOffset reads the partition's offset row and locks it until the
// transaction ends, so two consumers that briefly both own a partition
// during a rebalance serialize here. The upsert makes sure there is a row to
// lock (two owners of a fresh partition would otherwise both apply its first
// batch), in one round trip.
func lockOffset(ctx context.Context, tx pgx.Tx, projector, topic string, partition int32) (int64, bool, error) {
	var next int64
	err := tx.QueryRow(ctx, `INSERT INTO projector_offsets (projector, topic, partition, next_offset)
		VALUES ($1, $2, $3, 0)
		ON CONFLICT (projector, topic, partition) DO UPDATE SET next_offset = projector_offsets.next_offset
		RETURNING next_offset`, projector, topic, partition).Scan(&next)
	if err != nil {
		return 0, false, fmt.Errorf("lock offset %s %s/%d: %w", projector, topic, partition, err)
	}
	return next, true, nil
}

// storeOffset moves the locked offset row to next and announces it. NOTIFY
// is delivered only when the transaction commits: waiters never see
// progress that could still roll back.
func storeOffset(ctx context.Context, tx pgx.Tx, projector, topic string, partition int32, next int64) error {
	_, err := tx.Exec(ctx, storeOffsetSQL,
		projector, topic, partition, next, NotifyChannel, notifyPayload(projector, topic, partition, next))
	if err != nil {
		return fmt.Errorf("store offset: %w", err)
	}
	return nil
}

// queueStoreOffset is storeOffset as a statement of the commit's pipeline.
func queueStoreOffset(b *pgx.Batch, projector, topic string, partition int32, next int64) {
	b.Queue(storeOffsetSQL, projector, topic, partition, next, NotifyChannel, notifyPayload(projector, topic, partition, next))
}

const storeOffsetSQL = `WITH moved AS (
		UPDATE projector_offsets SET next_offset = $4, updated_at = now()
		WHERE projector = $1 AND topic = $2 AND partition = $3 AND next_offset < $4)
	SELECT pg_notify($5, $6)`

// projectionTx is how the runner opens its transactions. Their commits do
// not wait for the WAL flush: a read model is rebuilt from Kafka, and its
// offsets commit with it, so a crash loses at most the last moments of
// both together, which the runner then applies again. That wait would
// otherwise sit in every command's read-your-writes.
var projectionTx = pgx.TxOptions{BeginQuery: "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off"}

// Rebuild empties a projector's read model and forgets its offsets, so its
// next run replays its topics from the oldest record.
func Rebuild(ctx context.Context, pool *pgxpool.Pool, proj Projector) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := proj.Reset(ctx, tx); err != nil {
			return fmt.Errorf("reset %s: %w", proj.Name(), err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM projector_offsets WHERE projector = $1`, proj.Name()); err != nil {
			return fmt.Errorf("forget offsets of %s: %w", proj.Name(), err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM projector_seen_events WHERE projector = $1`, proj.Name()); err != nil {
			return fmt.Errorf("forget seen events of %s: %w", proj.Name(), err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM projector_dead_letters WHERE projector = $1`, proj.Name()); err != nil {
			return err
		}
		// Waiters forget what they knew of this projector's progress: its
		// offsets start again from the oldest record.
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, resetPayload(proj.Name()))
		return err
	})
}

// inProjectionTx runs fn in a projection transaction (projectionTx) and
// commits it; the statements fn returns are sent with the COMMIT, in one
// round trip (nil: just commit).
func (r *Runner) inProjectionTx(ctx context.Context, fn func(pgx.Tx) (*pgx.Batch, error)) error {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left inside a transaction is closed by the pool.
	defer conn.Release()
	tx, err := conn.Conn().BeginTx(ctx, projectionTx)
	if err != nil {
		return err
	}
	final, err := fn(tx)
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if final == nil {
		return tx.Commit(ctx)
	}
	final.Queue(`COMMIT`)
	br := conn.Conn().SendBatch(ctx, final)
	for range final.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		err = errors.New("projection transaction rolled back at commit")
	}
	return err
}
