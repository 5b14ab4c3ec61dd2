package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
)

// DirectApplier is a projector whose read model is outside PostgreSQL (the
// live projector's Redis streams). The runner hands it a partition's
// decoded events and then advances the partition in its OffsetStore; Apply
// and Reset of the Projector interface are not called. ApplyDirect must be
// idempotent: a crash between it and the offset store applies the batch
// again.
type DirectApplier interface {
	ApplyDirect(ctx context.Context, events []Event) error
}

// applyDirect is applyBatch for a DirectApplier: the same skipping of
// records already applied, the same dead letters for undecodable records,
// with the offset moved in r.offsets after the events took effect.
func (r *Runner) applyDirect(ctx context.Context, d DirectApplier, topic string, partition int32, batch []*sarama.ConsumerMessage) ([]DeadLetter, error) {
	next, ok, err := r.offsets.Load(ctx, r.proj.Name(), topic, partition)
	if err != nil {
		return nil, err
	}
	var events []Event
	var undecodable []*sarama.ConsumerMessage
	var errs []error
	applied := false
	for _, m := range batch {
		if ok && m.Offset < next {
			continue
		}
		env, msg, err := decodeRecord(m)
		if err != nil {
			undecodable, errs = append(undecodable, m), append(errs, err)
		} else {
			events = append(events, Event{Env: env, Msg: msg})
		}
		next, ok, applied = m.Offset+1, true, true
	}
	if !applied {
		return nil, nil
	}
	var dead []DeadLetter
	for i, m := range undecodable {
		now := time.Now()
		dl, opened, err := r.insertDeadLetterAlone(ctx, m, failure{err: errs[i], attempts: 1, first: now, last: now})
		if err != nil {
			return nil, err
		}
		if opened {
			dead = append(dead, dl)
		}
	}
	if len(events) > 0 {
		if err := protect(func() error { return d.ApplyDirect(ctx, events) }); err != nil {
			first := events[0].Env
			return nil, fmt.Errorf("apply %d events from %s/%d@%d: %w", len(events), first.Topic, first.Partition, first.Offset, err)
		}
	}
	if err := r.offsets.Advance(ctx, r.proj.Name(), topic, partition, next); err != nil {
		return nil, err
	}
	r.progressed(topic, partition, next)
	return dead, nil
}

// deadLetterDirect is deadLetterWithRetry for a DirectApplier: the dead
// letter is written (PostgreSQL, where every dead letter is), then the
// offset moves past the record in the offset store.
func (r *Runner) deadLetterDirect(ctx context.Context, topic string, partition int32, m *sarama.ConsumerMessage, f failure) error {
	var b backoff
	for {
		dl, opened, err := r.insertDeadLetterAlone(ctx, m, f)
		if err == nil {
			err = r.offsets.Advance(ctx, r.proj.Name(), topic, partition, m.Offset+1)
		}
		if err == nil {
			r.progressed(topic, partition, m.Offset+1)
			if opened {
				r.reportDead([]DeadLetter{dl})
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Error("writing a dead letter failed; retrying", "topic", topic, "partition", partition,
			"offset", m.Offset, "err", err)
		b.wait(ctx)
	}
}

func (r *Runner) insertDeadLetterAlone(ctx context.Context, m *sarama.ConsumerMessage, f failure) (DeadLetter, bool, error) {
	var dl DeadLetter
	var opened bool
	err := pgx.BeginTxFunc(ctx, r.pool, projectionTx, func(tx pgx.Tx) error {
		var err error
		dl, opened, err = insertDeadLetter(ctx, tx, r.proj.Name(), m, f)
		return err
	})
	return dl, opened, err
}
