// Package outbox makes PostgreSQL's transaction the single commit point of a
// command: its events are written to event_outbox in the same transaction as
// the write-model change, and a relay produces them to Kafka afterwards. So
// the log never holds an event whose change did not commit, every committed
// change reaches the log (after any crash), and commands keep being accepted
// while Kafka is away.
//
// Order: rows are relayed per shard (a hash of the record key) in seq order,
// by one relay at a time (a PostgreSQL advisory lock). Commands that change
// the same aggregate serialize on its write-model row, so their seqs follow
// their commit order and their events keep it on the log (one send carries
// at most one row per key: see oldestPerKey).
//
// Delivery is at least once: a relay that dies after Kafka acked and before
// it marked the rows sends them again, with the same CloudEvents id.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/eventlog"
)

// Shards is how many independent relay queues there are. It must not change
// while rows are pending: a key's rows would then sit in two queues.
const Shards = 16

// ShardOf is the relay queue of a record key.
func ShardOf(key string) int16 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int16(h.Sum32() % Shards)
}

// Staged is events written to the outbox by one transaction: what the
// committing command later waits on.
type Staged struct {
	Seqs   []int64
	Shards []int16
}

// Outbox stages events and hands them to the relay of this process.
type Outbox struct {
	pool  *pgxpool.Pool
	relay *Relay
	now   func() time.Time
}

// New returns an outbox whose committed rows relay sends.
func New(pool *pgxpool.Pool, relay *Relay, now func() time.Time) *Outbox {
	return &Outbox{pool: pool, relay: relay, now: now}
}

// Stage writes events into tx's outbox. They reach Kafka only if tx commits.
func (o *Outbox) Stage(ctx context.Context, tx pgx.Tx, events ...eventlog.Event) (Staged, error) {
	var st Staged
	if len(events) == 0 {
		return st, nil
	}
	now := o.now()
	batch := &pgx.Batch{}
	for _, ev := range events {
		rec, err := eventlog.Encode(ctx, ev, now)
		if err != nil {
			return Staged{}, err
		}
		keys := make([]string, len(rec.Headers))
		values := make([][]byte, len(rec.Headers))
		for i, h := range rec.Headers {
			keys[i], values[i] = string(h.Key), h.Value
		}
		shard := ShardOf(rec.Key)
		st.Shards = append(st.Shards, shard)
		batch.Queue(insertRow, shard, rec.Topic, rec.Key, rec.ID, keys, values, rec.Payload)
	}
	// One round trip for all of a command's events.
	res := tx.SendBatch(ctx, batch)
	for range events {
		var seq int64
		if err := res.QueryRow().Scan(&seq); err != nil {
			_ = res.Close()
			return Staged{}, stageErr(err)
		}
		st.Seqs = append(st.Seqs, seq)
	}
	if err := res.Close(); err != nil {
		return Staged{}, stageErr(err)
	}
	return st, nil
}

// Steps returns the statements that write events into the outbox, for a
// transaction that sends them with its commit (aggregate.Tx.Queue); st is
// filled in as they run.
func (o *Outbox) Steps(ctx context.Context, events ...eventlog.Event) ([]db.Step, *Staged, error) {
	st := &Staged{Seqs: make([]int64, len(events))}
	steps := make([]db.Step, 0, len(events))
	now := o.now()
	for i, ev := range events {
		rec, err := eventlog.Encode(ctx, ev, now)
		if err != nil {
			return nil, nil, err
		}
		keys := make([]string, len(rec.Headers))
		values := make([][]byte, len(rec.Headers))
		for j, h := range rec.Headers {
			keys[j], values[j] = string(h.Key), h.Value
		}
		shard := ShardOf(rec.Key)
		st.Shards = append(st.Shards, shard)
		steps = append(steps, db.Step{
			SQL:  insertRow,
			Args: []any{shard, rec.Topic, rec.Key, rec.ID, keys, values, rec.Payload},
			Scan: func(row pgx.Row) error { return row.Scan(&st.Seqs[i]) },
			Fail: stageErr,
		})
	}
	return steps, st, nil
}

const insertRow = `INSERT INTO event_outbox (shard, topic, key, event_id, header_keys, header_values, payload)
	VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`

// Committed tells the relay that st's transaction committed, so it sends
// the rows now instead of at its next poll.
func (o *Outbox) Committed(st Staged) {
	if o.relay != nil {
		o.relay.Kick(st.Shards...)
	}
}

// Publish stages events in a transaction of their own and commits it: for
// facts that change no write model (a login).
func (o *Outbox) Publish(ctx context.Context, events ...eventlog.Event) (Staged, error) {
	var st Staged
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		var err error
		st, err = o.Stage(ctx, tx, events...)
		return err
	})
	if err != nil {
		return Staged{}, stageErr(err)
	}
	o.Committed(st)
	return st, nil
}

// Positions waits until st's rows are on Kafka and says where they landed,
// or fails when ctx ends first (the rows stay committed and will be sent).
func (o *Outbox) Positions(ctx context.Context, st Staged) ([]eventlog.Position, error) {
	if o.relay == nil {
		return nil, errors.New("no relay in this process")
	}
	return o.relay.Positions(ctx, st.Seqs)
}

func stageErr(err error) error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	return apperr.Unavailable("write model unavailable", fmt.Errorf("event_outbox: %w", err))
}

// Sending reports whether this process's relay can currently reach Kafka.
func (o *Outbox) Sending() bool { return o.relay != nil && o.relay.Sending() }
