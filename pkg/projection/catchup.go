package projection

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/oof-gg/platform/pkg/eventlog"
	"google.golang.org/protobuf/proto"
)

// Online rebuilds (internal/platform/rebuild_online.go) run a projector
// outside any consumer group, over a bounded range of each partition, into
// a shadow copy of its tables: a Runner whose pool's search_path puts the
// shadow schema first, and whose projector answers to another name
// (Renamed) so its offsets and notifications never mix with the live
// projector's.

// Position is where CatchUp on topic/partition would start: the stored next
// offset, or the partition's oldest one when none is stored.
func (r *Runner) Position(ctx context.Context, topic string, partition int32) (int64, error) {
	next, ok, err := r.offsets.Load(ctx, r.proj.Name(), topic, partition)
	if err != nil {
		return 0, err
	}
	if ok {
		return next, nil
	}
	oldest, err := r.client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return 0, fmt.Errorf("oldest offset of %s/%d: %w", topic, partition, err)
	}
	return oldest, nil
}

// CatchUp applies topic/partition's records from Position up to until
// (exclusive) in batches, exactly as the consumer group would (same
// transactions, offsets, retries and dead letters), and returns once the
// stored offset has reached until. onBatch, if set, hears how many records
// each committed batch covered.
func (r *Runner) CatchUp(ctx context.Context, consumer sarama.Consumer, topic string, partition int32, until int64, onBatch func(records int)) error {
	next, err := r.Position(ctx, topic, partition)
	if err != nil || next >= until {
		return err
	}
	pc, err := consumer.ConsumePartition(topic, partition, next)
	if err != nil {
		return fmt.Errorf("consume %s/%d from %d: %w", topic, partition, next, err)
	}
	defer pc.Close()
	batch := make([]*sarama.ConsumerMessage, 0, r.batchMax)
	for next < until {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-pc.Errors():
			return fmt.Errorf("consume %s/%d: %w", topic, partition, err)
		case m := <-pc.Messages():
			batch = append(batch, m)
		}
	drain:
		for len(batch) < r.batchMax && batch[len(batch)-1].Offset+1 < until {
			select {
			case m := <-pc.Messages():
				batch = append(batch, m)
			default:
				break drain
			}
		}
		// A record at or past until belongs to the next phase.
		for len(batch) > 0 && batch[len(batch)-1].Offset >= until {
			batch = batch[:len(batch)-1]
		}
		if len(batch) == 0 {
			return nil
		}
		if err := r.applyWithRetry(ctx, topic, partition, batch); err != nil {
			return err
		}
		next = batch[len(batch)-1].Offset + 1
		if onBatch != nil {
			onBatch(len(batch))
		}
	}
	return nil
}

// Renamed is proj answering to name: its offsets, dead letters and
// progress notifications are kept under name, while its SQL (and the
// projector_seen_events rows it writes under its own name) are unchanged.
// It drops BatchHooks on purpose: a renamed projector must not mirror into
// the live Redis keys.
func Renamed(proj Projector, name string) Projector { return renamed{inner: proj, name: name} }

type renamed struct {
	inner Projector
	name  string
}

func (r renamed) Name() string     { return r.name }
func (r renamed) Topics() []string { return r.inner.Topics() }
func (r renamed) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	return r.inner.Apply(ctx, tx, env, msg)
}
func (r renamed) Reset(ctx context.Context, tx pgx.Tx) error { return r.inner.Reset(ctx, tx) }

// ApplyAll keeps the inner projector's batching when it has one.
func (r renamed) ApplyAll(ctx context.Context, tx pgx.Tx, events []Event) error {
	if ba, ok := r.inner.(BatchApplier); ok {
		return ba.ApplyAll(ctx, tx, events)
	}
	for _, ev := range events {
		if err := applyDecoded(ctx, tx, r.inner, ev.Env, ev.Msg); err != nil {
			return err
		}
	}
	return nil
}

// NotifyOffset announces, inside tx, that projector's partition is at next
// (delivered at commit): waiters for an event the projector will now skip
// (an online rebuild moved its offsets forward) need not wait for its next
// batch.
func NotifyOffset(ctx context.Context, tx pgx.Tx, projector, topic string, partition int32, next int64) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, notifyPayload(projector, topic, partition, next))
	return err
}
