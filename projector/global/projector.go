// Package global fans oof.global.v1 out into one Redis stream,
// <prefix>global, the way projector/live does for sessions: each record is
// the entry <offset+1>-0. The topic has one key, so its records share a
// partition and the ids only grow; a record delivered again is refused by
// Redis (exactly-once in effect). The stream keeps the last Window events
// (MAXLEN ~) and expires Expiry after its last one.
package global

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
	projlive "github.com/oof-gg/platform/projector/live"
)

// Name is the projector's name (its consumer group and offsets).
const Name = projector.Global

// Fields of a stream entry.
const (
	FieldID    = projlive.FieldID    // the GlobalEvent's id
	FieldEvent = projlive.FieldEvent // the GlobalEvent, protobuf
)

// StreamKey is the Redis stream of global events.
func StreamKey(prefix string) string { return prefix + "global" }

// Projector writes the Redis stream.
type Projector struct {
	topic  string
	rdb    *redis.Client
	prefix string
	window int64
	expiry time.Duration
}

// New returns the projector of topic (the full oof.global.v1 name).
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
	return errors.New("global: applied through ApplyDirect")
}

// Reset has nothing in PostgreSQL to empty.
func (p *Projector) Reset(context.Context, pgx.Tx) error { return nil }

// ApplyDirect appends the batch's global events to the stream in one
// pipeline.
func (p *Projector) ApplyDirect(ctx context.Context, events []projection.Event) error {
	key := StreamKey(p.prefix)
	entries := make([]projlive.Entry, 0, len(events))
	for _, ev := range events {
		ge, ok := ev.Msg.(*eventspb.GlobalEventSent)
		if !ok {
			continue // another type on the topic: not ours
		}
		body, err := proto.MarshalOptions{Deterministic: true}.Marshal(ge.GetEvent())
		if err != nil {
			return fmt.Errorf("encode global event: %w", err)
		}
		entries = append(entries, projlive.Entry{Stream: key, Offset: ev.Env.Offset, EventID: ge.GetEvent().GetId(), Body: body})
	}
	return projlive.Append(ctx, p.rdb, p.window, p.expiry, entries)
}
