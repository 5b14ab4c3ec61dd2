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

// lockOffset reads the partition's offset row FOR UPDATE, so two consumers
// that briefly both own a partition during a rebalance serialize here.
func lockOffset(ctx context.Context, tx pgx.Tx, projector, topic string, partition int32) (int64, bool, error) {
	// Make sure there is a row to lock: FOR UPDATE on no row locks nothing,
	// and two owners of a fresh partition would both apply its first batch.
	if _, err := tx.Exec(ctx, `INSERT INTO projector_offsets (projector, topic, partition, next_offset)
		VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING`, projector, topic, partition); err != nil {
		return 0, false, fmt.Errorf("claim offset row %s %s/%d: %w", projector, topic, partition, err)
	}
	var next int64
	err := tx.QueryRow(ctx, `SELECT next_offset FROM projector_offsets
		WHERE projector = $1 AND topic = $2 AND partition = $3 FOR UPDATE`, projector, topic, partition).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("lock offset %s %s/%d: %w", projector, topic, partition, err)
	}
	return next, true, nil
}

func storeOffset(ctx context.Context, tx pgx.Tx, projector, topic string, partition int32, next int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO projector_offsets (projector, topic, partition, next_offset)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (projector, topic, partition) DO UPDATE
		SET next_offset = EXCLUDED.next_offset, updated_at = now()
		WHERE projector_offsets.next_offset < EXCLUDED.next_offset`, projector, topic, partition, next)
	if err != nil {
		return fmt.Errorf("store offset: %w", err)
	}
	// NOTIFY is delivered only when the transaction commits: waiters never
	// see progress that could still roll back.
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel,
		notifyPayload(projector, topic, partition, next)); err != nil {
		return fmt.Errorf("notify progress: %w", err)
	}
	return nil
}

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
		_, err := tx.Exec(ctx, `DELETE FROM projector_dead_letters WHERE projector = $1`, proj.Name())
		return err
	})
}
