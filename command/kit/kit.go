// Package kit is what every command handler of games, sessions, entities and
// players shares: decide inside a write-model transaction that also stages
// the resulting events in the outbox (one commit point), hand them to the
// relay, then wait (bounded) for the projector so the caller can read its
// own write.
package kit

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/failpoint"
	"github.com/oof-gg/platform/pkg/outbox"
)

// ProjectionWaiter waits until a projector has applied an event.
type ProjectionWaiter interface {
	WaitFor(ctx context.Context, projector string, pos eventlog.Position) error
}

// Deps are a command handler's collaborators.
type Deps struct {
	Store          *aggregate.Store
	Outbox         *outbox.Outbox
	Waiter         ProjectionWaiter
	ProjectionWait time.Duration
	Now            func() time.Time
	Log            *slog.Logger
}

// Execute runs decide in a transaction. decide loads and saves aggregates and
// returns the events that record its decision; they are staged in the
// outbox in the same transaction, so the write model and the log cannot
// disagree. Afterwards Execute waits until projector has applied the last
// event.
func (d Deps) Execute(ctx context.Context, projector string, decide func(aggregate.Tx) ([]eventlog.Event, error)) error {
	return d.ExecuteFor(ctx, func(eventlog.Position) string { return projector }, decide)
}

// ExecuteFor is Execute for commands whose events feed several read models:
// projectorOf names the projector that applies an event's topic, and each
// is waited for once, at its last event.
func (d Deps) ExecuteFor(ctx context.Context, projectorOf func(eventlog.Position) string, decide func(aggregate.Tx) ([]eventlog.Event, error)) error {
	staged := &outbox.Staged{}
	err := d.Store.InTx(ctx, func(tx aggregate.Tx) error {
		events, err := decide(tx)
		if err != nil || len(events) == 0 {
			return err
		}
		// The events (and a create's idempotency outcome) go to PostgreSQL
		// with the aggregates' saves and the COMMIT, in one round trip.
		steps, st, err := d.Outbox.Steps(ctx, events...)
		if err != nil {
			return err
		}
		staged = st
		tx.Queue(steps...)
		if err := saveOutcome(ctx, tx); err != nil {
			return err
		}
		failpoint.Hit(failpoint.CommandBeforeCommit)
		return nil
	})
	if err != nil {
		return err
	}
	failpoint.Hit(failpoint.CommandAfterCommit)
	d.Outbox.Committed(*staged)
	AwaitStaged(ctx, d.Outbox, d.Waiter, d.ProjectionWait, d.Log, projectorOf, *staged)
	return nil
}

// AwaitStaged gives read-your-writes: it waits up to wait until the staged
// events are on Kafka and every projector they feed has applied them, and
// tells the caller (ConsistencyHeader) whether it got there. Not getting
// there is not a failure: the events are committed and will be applied.
func AwaitStaged(ctx context.Context, ob *outbox.Outbox, w ProjectionWaiter, wait time.Duration,
	log *slog.Logger, projectorOf func(eventlog.Position) string, staged outbox.Staged) {
	if len(staged.Seqs) == 0 {
		return
	}
	if !ob.Sending() {
		// Kafka is away: waiting would only delay the answer.
		SetConsistency(ctx, ConsistencyPending)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	positions, err := ob.Positions(wctx, staged)
	if err != nil {
		log.WarnContext(ctx, "events not yet on the log; answering with pending consistency", "err", err)
		SetConsistency(ctx, ConsistencyPending)
		return
	}
	// The last event per projector and partition: offsets order events
	// only within a partition.
	type lane struct {
		projector, topic string
		partition        int32
	}
	last := map[lane]eventlog.Position{}
	for _, pos := range positions {
		last[lane{projectorOf(pos), pos.Topic, pos.Partition}] = pos
	}
	for l, pos := range last {
		projector := l.projector
		if err := w.WaitFor(wctx, projector, pos); err != nil {
			log.WarnContext(ctx, "projection wait ended early; answering with pending consistency", "projector", projector, "err", err)
			SetConsistency(ctx, ConsistencyPending)
			return
		}
	}
	SetConsistency(ctx, ConsistencyFresh)
}

// NewEvent builds a log event for an aggregate.
func NewEvent(topic, key, subject, source string, m proto.Message) eventlog.Event {
	return eventlog.Event{Topic: topic, Key: key, Subject: subject, Source: source, Message: m}
}
