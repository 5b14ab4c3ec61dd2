package projection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// How a partition gets past a failure:
//
//   - A batch is applied in one transaction with its offsets. If that fails
//     on infrastructure (IsTransient), the whole batch is retried with
//     back-off for as long as it takes: the records are fine, so none of
//     them may be skipped.
//   - If it fails otherwise, some record of the batch is at fault, and the
//     rolled-back transaction cannot say which. The batch is then applied
//     one record per transaction (each with its offset, so a record that
//     commits is applied exactly once), and only the failing record is
//     retried, up to maxAttempts times, and then written to the dead
//     letters together with its offset: the partition moves on.
//   - A record that cannot even be decoded is dead-lettered at once, inside
//     the batch's transaction: the same bytes never decode differently.

// maxBackoff caps the wait between attempts.
const maxBackoff = 5 * time.Second

// backoff doubles a wait from 100ms up to maxBackoff.
type backoff struct{ next time.Duration }

func (b *backoff) wait(ctx context.Context) {
	if b.next == 0 {
		b.next = 100 * time.Millisecond
	}
	sleep(ctx, b.next)
	b.next = min(b.next*2, maxBackoff)
}

// failure is what the attempts at one record ended with.
type failure struct {
	err         error
	attempts    int
	first, last time.Time
}

func (f *failure) add(err error, at time.Time) {
	if f.attempts == 0 {
		f.first = at
	}
	f.err, f.last = err, at
	f.attempts++
}

// text is the error stored with a dead letter; a panic keeps its stack.
func (f failure) text() string {
	var p *PanicError
	if errors.As(f.err, &p) {
		return f.err.Error() + "\n" + string(p.Stack)
	}
	return f.err.Error()
}

// applyWithRetry returns once every record of batch has taken effect or has
// been dead-lettered, or with ctx's error when ctx ends first.
func (r *Runner) applyWithRetry(ctx context.Context, topic string, partition int32, batch []*sarama.ConsumerMessage) error {
	var b backoff
	for {
		dead, err := r.applyBatch(ctx, topic, partition, batch)
		if err == nil {
			r.reportDead(dead)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !IsTransient(err) {
			r.log.Warn("apply batch failed; applying its records one by one to isolate the failing one",
				"topic", topic, "partition", partition, "first_offset", batch[0].Offset, "records", len(batch), "err", err)
			return r.applyOneByOne(ctx, topic, partition, batch)
		}
		r.log.Warn("apply batch failed on infrastructure; retrying", "topic", topic, "partition", partition,
			"first_offset", batch[0].Offset, "err", err)
		b.wait(ctx)
	}
}

func (r *Runner) applyOneByOne(ctx context.Context, topic string, partition int32, batch []*sarama.ConsumerMessage) error {
	for _, m := range batch {
		if err := r.applyRecordWithRetry(ctx, topic, partition, m); err != nil {
			return err
		}
	}
	return nil
}

// applyRecordWithRetry applies one record in its own transaction; after
// maxAttempts deterministic failures it dead-letters the record instead.
func (r *Runner) applyRecordWithRetry(ctx context.Context, topic string, partition int32, m *sarama.ConsumerMessage) error {
	var b backoff
	var f failure
	one := []*sarama.ConsumerMessage{m}
	for {
		dead, err := r.applyBatch(ctx, topic, partition, one)
		if err == nil {
			r.reportDead(dead)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if IsTransient(err) {
			r.log.Warn("apply record failed on infrastructure; retrying", "topic", topic, "partition", partition,
				"offset", m.Offset, "err", err)
		} else {
			f.add(err, time.Now())
			if f.attempts >= r.maxAttempts {
				return r.deadLetterWithRetry(ctx, topic, partition, m, f)
			}
			r.log.Warn("apply record failed; retrying", "topic", topic, "partition", partition, "offset", m.Offset,
				"attempt", f.attempts, "max_attempts", r.maxAttempts, "err", err)
		}
		b.wait(ctx)
	}
}

// deadLetterWithRetry writes the dead letter and moves the partition's
// offset past the record in one transaction, retrying until that commits.
func (r *Runner) deadLetterWithRetry(ctx context.Context, topic string, partition int32, m *sarama.ConsumerMessage, f failure) error {
	if _, ok := r.proj.(DirectApplier); ok {
		return r.deadLetterDirect(ctx, topic, partition, m, f)
	}
	var b backoff
	for {
		var dead []DeadLetter
		err := pgx.BeginTxFunc(ctx, r.pool, projectionTx, func(tx pgx.Tx) error {
			dead = dead[:0]
			next, ok, err := lockOffset(ctx, tx, r.proj.Name(), topic, partition)
			if err != nil {
				return err
			}
			if ok && m.Offset < next {
				return nil // another owner of the partition got past it meanwhile
			}
			dl, opened, err := insertDeadLetter(ctx, tx, r.proj.Name(), m, f)
			if err != nil {
				return err
			}
			if opened {
				dead = append(dead, dl)
			}
			return storeOffset(ctx, tx, r.proj.Name(), topic, partition, m.Offset+1)
		})
		if err == nil {
			r.progressed(topic, partition, m.Offset+1)
			r.reportDead(dead)
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

// applyBatchTx applies the records of batch not yet applied, in one
// transaction with the partition's next offset. It returns the dead letters
// it opened (undecodable records), to be reported only once committed.
func (r *Runner) applyBatchTx(ctx context.Context, topic string, partition int32, batch []*sarama.ConsumerMessage) ([]DeadLetter, error) {
	if d, ok := r.proj.(DirectApplier); ok {
		return r.applyDirect(ctx, d, topic, partition, batch)
	}
	hooks, _ := r.proj.(BatchHooks)
	if hooks != nil {
		hooks.BeforeBatch()
	}
	ctx = withBatchSlot(ctx)
	var dead []DeadLetter
	var stored int64 = -1
	err := r.inProjectionTx(ctx, func(tx pgx.Tx) (*pgx.Batch, error) {
		dead, stored = dead[:0], -1
		next, ok, err := lockOffset(ctx, tx, r.proj.Name(), topic, partition)
		if err != nil {
			return nil, err
		}
		applied := false
		var events []Event
		for _, m := range batch {
			if ok && m.Offset < next {
				continue // already applied: a redelivery after a crash or rebalance
			}
			env, msg, err := decodeRecord(m)
			if err != nil {
				dl, opened, err := insertDeadLetter(ctx, tx, r.proj.Name(), m, failure{err: err, attempts: 1, first: time.Now(), last: time.Now()})
				if err != nil {
					return nil, err
				}
				if opened {
					dead = append(dead, dl)
				}
			} else {
				events = append(events, Event{Env: env, Msg: msg})
			}
			next, ok, applied = m.Offset+1, true, true
		}
		if !applied {
			return nil, nil
		}
		final := &pgx.Batch{}
		if err := applyEvents(ctx, tx, r.proj, events, final); err != nil {
			return nil, err
		}
		stored = next
		queueStoreOffset(final, r.proj.Name(), topic, partition, next)
		return final, nil
	})
	if err == nil && hooks != nil {
		hooks.AfterCommit(ctx)
	}
	if err == nil && stored >= 0 {
		r.progressed(topic, partition, stored)
	}
	return dead, err
}

// decodeRecord reads a record's CloudEvents envelope and its event.
func decodeRecord(m *sarama.ConsumerMessage) (eventlog.Envelope, proto.Message, error) {
	env, err := eventlog.FromRecord(m)
	if err != nil {
		return env, nil, err
	}
	msg, err := env.Decode()
	return env, msg, err
}

// applyEvents applies a batch's decoded events in order: all at once for a
// BatchApplier (a CommitApplier may queue statements on commit, the batch
// the runner sends with the COMMIT), else one Apply each.
func applyEvents(ctx context.Context, tx pgx.Tx, proj Projector, events []Event, commit *pgx.Batch) error {
	if len(events) == 0 {
		return nil
	}
	ca, isCommit := proj.(CommitApplier)
	if ba, ok := proj.(BatchApplier); ok || isCommit {
		err := protect(func() error {
			if isCommit {
				return ca.ApplyAllCommit(ctx, tx, events, commit)
			}
			return ba.ApplyAll(ctx, tx, events)
		})
		if err != nil {
			first := events[0].Env
			return fmt.Errorf("apply %d events from %s/%d@%d: %w", len(events), first.Topic, first.Partition, first.Offset, err)
		}
		return nil
	}
	for _, ev := range events {
		if err := applyDecoded(ctx, tx, proj, ev.Env, ev.Msg); err != nil {
			return err
		}
	}
	return nil
}

// applyDecoded runs the projector's Apply, turning a panic into an error.
func applyDecoded(ctx context.Context, tx pgx.Tx, proj Projector, env eventlog.Envelope, msg proto.Message) error {
	err := protect(func() error { return proj.Apply(ctx, tx, env, msg) })
	if err != nil {
		return fmt.Errorf("apply %s at %s/%d@%d: %w", env.Type, env.Topic, env.Partition, env.Offset, err)
	}
	return nil
}

// reportDead logs each newly opened dead letter once, at error level, and
// counts it.
func (r *Runner) reportDead(dead []DeadLetter) {
	for _, d := range dead {
		r.log.Error("record dead-lettered: the partition moves on without it; re-drive it with `oof deadletters retry`",
			"dead_letter_id", d.ID, "topic", d.Topic, "partition", d.Partition, "offset", d.Offset,
			"event_type", d.EventType, "event_id", d.EventID, "key", string(d.Key), "attempts", d.Attempts, "err", d.Error)
		r.metrics.deadLettered(r.proj.Name())
	}
}
