package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// Runner consumes a projector's topics in a consumer group and applies them.
type Runner struct {
	proj     Projector
	pool     *pgxpool.Pool
	client   sarama.Client
	groupID  string
	batchMax int
	log      *slog.Logger
}

// NewRunner prepares a runner; client is a dedicated sarama client.
func NewRunner(proj Projector, pool *pgxpool.Pool, client sarama.Client, groupPrefix string, batchMax int, log *slog.Logger) *Runner {
	return &Runner{
		proj: proj, pool: pool, client: client, batchMax: batchMax,
		groupID: groupPrefix + "oof-projector-" + proj.Name(),
		log:     log.With("projector", proj.Name()),
	}
}

// Run consumes until ctx ends, rejoining the group after rebalances and
// broker errors.
func (r *Runner) Run(ctx context.Context) error {
	group, err := sarama.NewConsumerGroupFromClient(r.groupID, r.client)
	if err != nil {
		return fmt.Errorf("projector %s: consumer group: %w", r.proj.Name(), err)
	}
	defer group.Close()
	go func() {
		for err := range group.Errors() {
			r.log.Warn("consumer group error", "err", err)
		}
	}()
	r.log.Info("projector started", "group", r.groupID, "topics", r.proj.Topics())
	for ctx.Err() == nil {
		if err := group.Consume(ctx, r.proj.Topics(), r); err != nil && ctx.Err() == nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return nil
			}
			r.log.Warn("consume failed; retrying", "err", err)
			sleep(ctx, time.Second)
		}
	}
	return nil
}

// Setup seeks every claimed partition to the offset stored in PostgreSQL, so
// PostgreSQL, not Kafka's group offsets, decides where a projector resumes.
func (r *Runner) Setup(sess sarama.ConsumerGroupSession) error {
	for topic, partitions := range sess.Claims() {
		for _, p := range partitions {
			next, ok, err := loadOffset(sess.Context(), r.pool, r.proj.Name(), topic, p)
			if err != nil {
				return err
			}
			if !ok {
				if next, err = r.client.GetOffset(topic, p, sarama.OffsetOldest); err != nil {
					return fmt.Errorf("oldest offset of %s/%d: %w", topic, p, err)
				}
			}
			sess.ResetOffset(topic, p, next, "")
		}
	}
	return nil
}

// Cleanup has nothing to release: offsets are committed with each batch.
func (r *Runner) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim applies the partition's records in batches: whatever is
// already buffered (up to batchMax) goes into one transaction.
func (r *Runner) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	batch := make([]*sarama.ConsumerMessage, 0, r.batchMax)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			batch = append(batch[:0], m)
		drain:
			for len(batch) < r.batchMax {
				select {
				case m, ok := <-claim.Messages():
					if !ok {
						break drain
					}
					batch = append(batch, m)
				default:
					break drain
				}
			}
			if err := r.applyWithRetry(ctx, claim.Topic(), claim.Partition(), batch); err != nil {
				return nil // ctx ended; the next owner resumes from PostgreSQL
			}
			sess.MarkMessage(batch[len(batch)-1], "")
		}
	}
}

// applyWithRetry never skips a batch because of a database error: it retries
// with back-off until it succeeds or ctx ends.
func (r *Runner) applyWithRetry(ctx context.Context, topic string, partition int32, batch []*sarama.ConsumerMessage) error {
	backoff := 100 * time.Millisecond
	for {
		err := r.applyBatch(ctx, topic, partition, batch)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Error("apply batch failed; retrying", "topic", topic, "partition", partition,
			"first_offset", batch[0].Offset, "err", err)
		sleep(ctx, backoff)
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (r *Runner) applyBatch(ctx context.Context, topic string, partition int32, batch []*sarama.ConsumerMessage) error {
	hooks, _ := r.proj.(BatchHooks)
	if hooks != nil {
		hooks.BeforeBatch()
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		next, ok, err := lockOffset(ctx, tx, r.proj.Name(), topic, partition)
		if err != nil {
			return err
		}
		applied := false
		for _, m := range batch {
			if ok && m.Offset < next {
				continue // already applied: a redelivery after a crash or rebalance
			}
			if err := r.applyOne(ctx, tx, m); err != nil {
				return err
			}
			next, ok, applied = m.Offset+1, true, true
		}
		if !applied {
			return nil
		}
		return storeOffset(ctx, tx, r.proj.Name(), topic, partition, next)
	})
	if err == nil && hooks != nil {
		hooks.AfterCommit(ctx)
	}
	return err
}

func (r *Runner) applyOne(ctx context.Context, tx pgx.Tx, m *sarama.ConsumerMessage) error {
	env, err := eventlog.FromRecord(m)
	if err != nil {
		return deadLetter(ctx, tx, r.proj.Name(), m, "", err)
	}
	msg, err := env.Decode()
	if err != nil {
		r.log.Error("undecodable event dead-lettered", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
		return deadLetter(ctx, tx, r.proj.Name(), m, env.Type, err)
	}
	if err := r.proj.Apply(ctx, tx, env, msg); err != nil {
		return fmt.Errorf("apply %s at %s/%d@%d: %w", env.Type, m.Topic, m.Partition, m.Offset, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
