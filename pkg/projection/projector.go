// Package projection runs projectors: Kafka consumer groups that apply events
// to PostgreSQL read models. Each batch is applied in one transaction that
// also stores the next offset per partition, so every event takes effect
// exactly once however often it is delivered. A record that keeps failing
// for a reason other than infrastructure goes to projector_dead_letters
// (see apply.go) so it cannot stall its partition; RetryDeadLetter applies
// it again later. Commands use Waiter to wait until a projector has passed
// their event (read-your-writes).
package projection

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// Projector builds one read model from one or more topics.
type Projector interface {
	// Name identifies the projector: its consumer group and offset rows.
	Name() string
	// Topics are the full topic names it consumes.
	Topics() []string
	// Apply applies one decoded event inside tx. Events of types the
	// projector does not care about must be ignored (return nil). Apply must
	// not fail on data it has seen before: the offset check makes replays
	// impossible within a database, but a rebuild replays everything.
	Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error
	// Reset empties the read model before a rebuild from offset 0.
	Reset(ctx context.Context, tx pgx.Tx) error
}

// Event is one decoded record of a batch.
type Event struct {
	Env eventlog.Envelope
	Msg proto.Message
}

// BatchApplier is implemented by projectors that apply a batch's events
// together, in a few pipelined statements instead of a round trip per
// event. ApplyAll has Apply's contract for every event, in order; the
// runner calls it with single events when it isolates a failing record.
type BatchApplier interface {
	ApplyAll(ctx context.Context, tx pgx.Tx, events []Event) error
}

// CommitApplier is a BatchApplier that may leave statements for the
// batch's last round trip: the runner sends what it queues on commit
// together with the offset and the COMMIT. A row that the batches of many
// partitions update (an aggregate over all of them) is then locked only for
// that round trip instead of from its update to the commit, which would
// serialize the partitions. ApplyAllCommit has ApplyAll's contract; a
// queued statement that fails rolls the batch back like any other failure.
// ApplyAll stays the way to apply without the runner (it must then run
// those statements itself).
type CommitApplier interface {
	ApplyAllCommit(ctx context.Context, tx pgx.Tx, events []Event, commit *pgx.Batch) error
}

// BatchHooks is implemented by projectors that mirror into a second store
// (Redis): BeforeBatch runs before each attempt at a batch, AfterCommit once
// the batch's transaction has committed. The mirror must be idempotent
// (set, not increment): the PostgreSQL side is the exactly-once one.
type BatchHooks interface {
	BeforeBatch()
	AfterCommit(ctx context.Context)
}

// Mirrored is implemented by projectors whose second store (Redis) is a
// copy of their PostgreSQL tables, so it can be derived from them at any
// time. An online rebuild (internal/platform, `oof rebuild`) builds the
// tables alone with PostgresOnly and, in the transaction that swaps the new
// tables in, copies them into Redis with Resync.
type Mirrored interface {
	// PostgresOnly is the projector without its Redis side: Apply, Reset
	// and its hooks write PostgreSQL only.
	PostgresOnly() Projector
	// Resync replaces the Redis copy with a copy of the tables as tx sees
	// them, so that a reader sees either the old copy or the whole new one
	// (never part of it).
	Resync(ctx context.Context, tx pgx.Tx) error
}

// NotifyChannel is the PostgreSQL channel projectors announce progress on.
const NotifyChannel = "oof_projection"

func notifyPayload(projector, topic string, partition int32, next int64) string {
	return fmt.Sprintf("%s|%s|%d|%d", projector, topic, partition, next)
}

// resetPayload announces that a projector's read model was emptied and its
// offsets forgotten (a rebuild).
func resetPayload(projector string) string { return projector + "|reset" }

// Snapshot encodes a read-model snapshot deterministically (map entries in
// a fixed order), so a replay stores byte-identical rows.
func Snapshot(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}
