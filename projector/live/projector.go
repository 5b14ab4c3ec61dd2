// Package live fans oof.live.v1 out into one Redis stream per session
// (docs/realtime.md, Live events): each record becomes the entry
// <offset+1>-0 of <prefix>live:<session>. One session's records share a
// partition, so its entry ids only grow; a record delivered again has an id
// not above the stream's last, and Redis refuses it, which makes the
// fan-out exactly-once in effect without a transaction. The stream keeps
// the last Window events (MAXLEN ~) and expires Expiry after its last one:
// that is the resume window the stream target reads. With WithRanges it
// also records where each session's events are on the topic, for match
// replay (ranges.go).
package live

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name (its consumer group and offsets).
const Name = projector.Live

// Fields of a stream entry.
const (
	FieldID    = "id" // the GameEvent's id: what a client resumes after
	FieldEvent = "ev" // the GameEvent, protobuf
)

// StreamKey is the Redis stream of a session's live events.
func StreamKey(prefix, sessionID string) string { return prefix + "live:" + sessionID }

// EntryID is the stream id of the record at offset.
func EntryID(offset int64) string { return strconv.FormatInt(offset+1, 10) + "-0" }

// Projector writes the Redis streams.
type Projector struct {
	topic  string
	rdb    *redis.Client
	prefix string
	window int64
	expiry time.Duration
	ranges *pgxpool.Pool // live_event_ranges (ranges.go); nil: not recorded
}

// New returns the projector of topic (the full oof.live.v1 name).
func New(topic string, rdb *redis.Client, prefix string, window int, expiry time.Duration) *Projector {
	return &Projector{topic: topic, rdb: rdb, prefix: prefix, window: int64(window), expiry: expiry}
}

// Name implements projection.Projector.
func (p *Projector) Name() string { return Name }

// Topics implements projection.Projector.
func (p *Projector) Topics() []string { return []string{p.topic} }

// Apply is never called: the runner applies a DirectApplier's events with
// ApplyDirect.
func (p *Projector) Apply(context.Context, pgx.Tx, eventlog.Envelope, proto.Message) error {
	return errors.New("live: applied through ApplyDirect")
}

// Reset has nothing in PostgreSQL to empty.
func (p *Projector) Reset(context.Context, pgx.Tx) error { return nil }

// ApplyDirect appends the batch's live events to their sessions' streams,
// in one pipeline, while the ranges are recorded (PostgreSQL) alongside:
// the two are independent and both idempotent, so the batch costs the
// slower round trip rather than the sum of both (the next batch, and so
// the next events' delivery, waits for this one).
func (p *Projector) ApplyDirect(ctx context.Context, events []projection.Event) error {
	ranges := make(chan error, 1)
	go func() { ranges <- p.recordRanges(ctx, events) }()
	if err := p.appendStreams(ctx, events); err != nil {
		<-ranges
		return err
	}
	return <-ranges
}

// appendStreams XADDs the batch's live events, in one pipeline.
func (p *Projector) appendStreams(ctx context.Context, events []projection.Event) error {
	entries := make([]Entry, 0, len(events))
	for _, ev := range events {
		le, ok := ev.Msg.(*eventspb.LiveEvent)
		if !ok {
			continue // another type on the topic: not ours
		}
		body, err := proto.MarshalOptions{Deterministic: true}.Marshal(le.GetEvent())
		if err != nil {
			return fmt.Errorf("encode live event: %w", err)
		}
		entries = append(entries, Entry{Stream: StreamKey(p.prefix, le.GetEvent().GetSessionId()),
			Offset: ev.Env.Offset, EventID: le.GetEvent().GetId(), Body: body})
	}
	return Append(ctx, p.rdb, p.window, p.expiry, entries)
}
