package projection

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// OffsetStore is where a runner keeps, per projector and partition, the
// next offset to apply: where it resumes after a restart or a rebalance.
// A PostgreSQL projector's offsets move inside its read model's
// transaction (apply.go), through the PostgreSQL store's tables; a
// DirectApplier's (a read model outside PostgreSQL, such as Redis
// streams) move through Advance after its batch took effect.
type OffsetStore interface {
	// Load returns the next offset to apply; ok is false when none is
	// stored yet.
	Load(ctx context.Context, projector, topic string, partition int32) (next int64, ok bool, err error)
	// Advance stores next unless the stored offset is already at or past
	// it: offsets never move back, so a stale owner of a partition cannot
	// undo a newer one's progress.
	Advance(ctx context.Context, projector, topic string, partition int32, next int64) error
	// Forget drops every offset of projector (a rebuild replays from the
	// oldest record).
	Forget(ctx context.Context, projector string) error
}

// WithOffsetStore makes the runner keep its offsets in s instead of
// PostgreSQL's projector_offsets.
func WithOffsetStore(s OffsetStore) Option {
	return func(r *Runner) { r.offsets = s }
}

// PostgresOffsets is the projector_offsets table.
type PostgresOffsets struct{ Pool *pgxpool.Pool }

// Load implements OffsetStore.
func (s PostgresOffsets) Load(ctx context.Context, projector, topic string, partition int32) (int64, bool, error) {
	return loadOffset(ctx, s.Pool, projector, topic, partition)
}

// Advance implements OffsetStore, in a transaction of its own with the
// same row lock and guard as a batch's.
func (s PostgresOffsets) Advance(ctx context.Context, projector, topic string, partition int32, next int64) error {
	return pgx.BeginTxFunc(ctx, s.Pool, projectionTx, func(tx pgx.Tx) error {
		if _, _, err := lockOffset(ctx, tx, projector, topic, partition); err != nil {
			return err
		}
		return storeOffset(ctx, tx, projector, topic, partition, next)
	})
}

// Forget implements OffsetStore.
func (s PostgresOffsets) Forget(ctx context.Context, projector string) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM projector_offsets WHERE projector = $1`, projector)
	return err
}

// RedisOffsets keeps offsets in one Redis hash per projector
// (<prefix>projection:offsets:<projector>, field <topic>/<partition>), for
// projectors whose read model is Redis itself.
type RedisOffsets struct {
	Redis  *redis.Client
	Prefix string // the deployment's key prefix
}

func (s RedisOffsets) key(projector string) string {
	return s.Prefix + "projection:offsets:" + projector
}

func field(topic string, partition int32) string { return topic + "/" + strconv.Itoa(int(partition)) }

// Load implements OffsetStore.
func (s RedisOffsets) Load(ctx context.Context, projector, topic string, partition int32) (int64, bool, error) {
	next, err := s.Redis.HGet(ctx, s.key(projector), field(topic, partition)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("load offset %s %s/%d: %w", projector, topic, partition, err)
	}
	return next, true, nil
}

// advanceScript sets the field to ARGV[2] only when that moves it forward.
var advanceScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
local next = tonumber(ARGV[2])
if cur == nil or cur < next then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`)

// Advance implements OffsetStore.
func (s RedisOffsets) Advance(ctx context.Context, projector, topic string, partition int32, next int64) error {
	if err := advanceScript.Run(ctx, s.Redis, []string{s.key(projector)}, field(topic, partition), next).Err(); err != nil {
		return fmt.Errorf("store offset %s %s/%d: %w", projector, topic, partition, err)
	}
	return nil
}

// Forget implements OffsetStore.
func (s RedisOffsets) Forget(ctx context.Context, projector string) error {
	return s.Redis.Del(ctx, s.key(projector)).Err()
}
