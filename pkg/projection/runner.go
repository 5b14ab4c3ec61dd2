package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Runner consumes a projector's topics in a consumer group and applies them.
type Runner struct {
	proj        Projector
	pool        *pgxpool.Pool
	client      sarama.Client
	groupID     string
	batchMax    int
	maxAttempts int
	metrics     *Metrics
	progress    func(projector, topic string, partition int32, next int64)
	// offsets is where the runner resumes from (offsetstore.go);
	// PostgreSQL's projector_offsets unless WithOffsetStore says otherwise.
	offsets OffsetStore
	log     *slog.Logger
	// trace, when set, wraps each batch attempt in a span (WithTrace).
	trace TraceBatch
}

// DefaultMaxAttempts is how often a record that fails deterministically is
// tried before it is dead-lettered.
const DefaultMaxAttempts = 3

// Option adjusts a Runner.
type Option func(*Runner)

// WithMaxAttempts sets how often a record that fails deterministically (see
// IsTransient) is tried before it goes to the dead letters; at least 1.
func WithMaxAttempts(n int) Option {
	return func(r *Runner) { r.maxAttempts = max(n, 1) }
}

// WithMetrics counts the runner's dead letters in m.
func WithMetrics(m *Metrics) Option {
	return func(r *Runner) { r.metrics = m }
}

// WithProgress tells f of every committed advance (after the Redis mirror,
// if any): a Waiter in the same process learns of it without the NOTIFY
// round trip through PostgreSQL.
func WithProgress(f func(projector, topic string, partition int32, next int64)) Option {
	return func(r *Runner) { r.progress = f }
}

// TraceBatch starts the span of one attempt at a batch and returns the
// context the attempt runs in and the function that ends the span with the
// attempt's outcome (pkg/tracing's Tracer.StartApply).
type TraceBatch func(ctx context.Context, projector, topic string, partition int32, batch []*sarama.ConsumerMessage) (context.Context, func(error))

// WithTrace wraps every attempt at a batch, its transaction and its Redis
// mirror in a span from f; nil (tracing off) adds nothing.
func WithTrace(f TraceBatch) Option {
	return func(r *Runner) { r.trace = f }
}

// applyBatch is one attempt at batch (applyBatchTx), in a span when tracing.
func (r *Runner) applyBatch(ctx context.Context, topic string, partition int32, batch []*sarama.ConsumerMessage) ([]DeadLetter, error) {
	if r.trace == nil {
		return r.applyBatchTx(ctx, topic, partition, batch)
	}
	ctx, done := r.trace(ctx, r.proj.Name(), topic, partition, batch)
	dead, err := r.applyBatchTx(ctx, topic, partition, batch)
	done(err)
	return dead, err
}

func (r *Runner) progressed(topic string, partition int32, next int64) {
	if r.progress != nil {
		r.progress(r.proj.Name(), topic, partition, next)
	}
}

// NewRunner prepares a runner; client is a dedicated sarama client.
func NewRunner(proj Projector, pool *pgxpool.Pool, client sarama.Client, groupPrefix string, batchMax int, log *slog.Logger, opts ...Option) *Runner {
	r := &Runner{
		proj: proj, pool: pool, client: client, batchMax: batchMax, maxAttempts: DefaultMaxAttempts,
		groupID: groupPrefix + "oof-projector-" + proj.Name(),
		log:     log.With("projector", proj.Name()),
	}
	for _, o := range opts {
		o(r)
	}
	if r.offsets == nil {
		r.offsets = PostgresOffsets{Pool: pool}
	}
	r.metrics.track(proj.Name())
	return r
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

// Setup seeks every claimed partition to the offset in the runner's offset
// store (PostgreSQL unless WithOffsetStore), so it, not Kafka's group
// offsets, decides where a projector resumes.
func (r *Runner) Setup(sess sarama.ConsumerGroupSession) error {
	for topic, partitions := range sess.Claims() {
		for _, p := range partitions {
			next, ok, err := r.offsets.Load(sess.Context(), r.proj.Name(), topic, p)
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

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
