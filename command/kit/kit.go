// Package kit is what every command handler of games, sessions, entities and
// players shares: decide inside a write-model transaction, publish the
// resulting events before commit, then wait (bounded) for the projector so
// the caller can read its own write.
package kit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/eventlog"
)

// Publisher appends events to the log.
type Publisher interface {
	Publish(ctx context.Context, events ...eventlog.Event) ([]eventlog.Position, error)
}

// ProjectionWaiter waits until a projector has applied an event.
type ProjectionWaiter interface {
	WaitFor(ctx context.Context, projector string, pos eventlog.Position) error
}

// Deps are a command handler's collaborators.
type Deps struct {
	Store          *aggregate.Store
	Events         Publisher
	Waiter         ProjectionWaiter
	ProjectionWait time.Duration
	Now            func() time.Time
	Log            *slog.Logger
}

// Execute runs decide in a transaction. decide loads and saves aggregates and
// returns the events that record its decision; they are published before
// the commit, so the write model never commits a change the log lacks.
// Afterwards Execute waits until projector has applied the last event.
func (d Deps) Execute(ctx context.Context, projector string, decide func(aggregate.Tx) ([]eventlog.Event, error)) error {
	return d.ExecuteFor(ctx, func(eventlog.Position) string { return projector }, decide)
}

// ExecuteFor is Execute for commands whose events feed several read models:
// projectorOf names the projector that applies an event's topic, and each
// is waited for once, at its last event.
func (d Deps) ExecuteFor(ctx context.Context, projectorOf func(eventlog.Position) string, decide func(aggregate.Tx) ([]eventlog.Event, error)) error {
	var positions []eventlog.Position
	err := d.Store.InTx(ctx, func(tx aggregate.Tx) error {
		events, err := decide(tx)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		positions, err = d.Events.Publish(ctx, events...)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	last := map[string]eventlog.Position{}
	for _, pos := range positions {
		last[projectorOf(pos)] = pos
	}
	for projector, pos := range last {
		Await(ctx, d.Waiter, d.ProjectionWait, d.Log, projector, pos)
	}
	return nil
}

// Await gives read-your-writes: it waits up to wait until projector has
// applied pos. A timeout is not a failure (the event is durable and will be
// applied); it is logged so slow projections show.
func Await(ctx context.Context, w ProjectionWaiter, wait time.Duration, log *slog.Logger, projector string, pos eventlog.Position) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := w.WaitFor(wctx, projector, pos); err != nil {
		log.WarnContext(ctx, "projection wait ended early", "projector", projector, "err", err)
	}
}

// NewEvent builds a log event for an aggregate.
func NewEvent(topic, key, subject, source string, m proto.Message) eventlog.Event {
	return eventlog.Event{Topic: topic, Key: key, Subject: subject, Source: source, Message: m}
}
