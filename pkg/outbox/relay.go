package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/failpoint"
)

// lockNamespace is the first key of the relay's advisory locks (the second
// is the shard), so they cannot collide with other advisory locks.
const lockNamespace = 0x00F00F

// RelayOptions tune a relay; zero values take the defaults.
type RelayOptions struct {
	BatchMax     int           // rows per produce (default 500)
	Poll         time.Duration // how often rows nobody announced are looked for (default 500ms)
	KeepRelayed  time.Duration // how long relayed rows keep their position (default 1m)
	Registerer   prometheus.Registerer
	ConnectRetry time.Duration // first back-off while Kafka is away (default 250ms)
}

// Relay produces committed outbox rows to Kafka. Each pass is one
// transaction: it takes the advisory lock of every shard no other relay
// holds, reads those shards' oldest pending rows in seq order, sends them
// all in one produce and marks them. Passes follow each other, so what
// commits during a pass goes out together in the next (group commit for the
// log). Several relays (one per command process) may run against one
// database: a shard is relayed by one of them at a time, so rows are
// neither sent by two relays nor out of order.
type Relay struct {
	pool     *pgxpool.Pool
	connect  func() (sarama.SyncProducer, error)
	log      *slog.Logger
	opts     RelayOptions
	kick     chan struct{}
	producer atomic.Pointer[producerBox]
	failing  atomic.Bool // the last send failed: Kafka is away
	relayed  *relayedIndex
	metrics  relayMetrics
	// deleted counts rows removed from the outbox since the last vacuum.
	deleted atomic.Int64
}

type producerBox struct{ p sarama.SyncProducer }

// NewRelay returns a relay that sends with producers made by connect (it is
// called again until it succeeds, so the relay starts without Kafka).
func NewRelay(pool *pgxpool.Pool, connect func() (sarama.SyncProducer, error), log *slog.Logger, opts RelayOptions) *Relay {
	if opts.BatchMax <= 0 {
		opts.BatchMax = 500
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.KeepRelayed <= 0 {
		opts.KeepRelayed = time.Minute
	}
	if opts.ConnectRetry <= 0 {
		opts.ConnectRetry = 250 * time.Millisecond
	}
	r := &Relay{pool: pool, connect: connect, log: log.With("component", "outbox-relay"), opts: opts,
		relayed: newRelayedIndex(), metrics: newRelayMetrics(opts.Registerer)}
	r.kick = make(chan struct{}, 1)
	return r
}

// Kick asks the relay for a pass now (shards name where the new rows are;
// a pass covers every shard it can lock).
func (r *Relay) Kick(shards ...int16) {
	select {
	case r.kick <- struct{}{}:
	default: // a pass is already due; it will see these rows too
	}
}

// Sending reports whether the relay can currently reach Kafka.
func (r *Relay) Sending() bool { return !r.failing.Load() }

// Run relays until ctx ends; it connects to Kafka first, retrying.
func (r *Relay) Run(ctx context.Context) error {
	if err := r.connectProducer(ctx); err != nil {
		return nil // ctx ended
	}
	defer func() { _ = r.producer.Load().p.Close() }()
	done := make(chan struct{}, 2)
	go func() { r.pollLoop(ctx); done <- struct{}{} }()
	go func() { r.relayed.expireLoop(ctx); done <- struct{}{} }()
	r.passLoop(ctx)
	<-done
	<-done
	return nil
}

func (r *Relay) connectProducer(ctx context.Context) error {
	backoff := r.opts.ConnectRetry
	for {
		p, err := r.connect()
		if err == nil {
			r.producer.Store(&producerBox{p: p})
			r.failing.Store(false)
			r.log.Info("outbox relay connected to kafka")
			return nil
		}
		r.failing.Store(true)
		r.log.Warn("outbox relay cannot reach kafka; commands are kept in the outbox", "err", err)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// passLoop runs passes while there is work: after a kick or a poll, and
// again at once after a pass that sent rows (more may have committed).
func (r *Relay) passLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		for ctx.Err() == nil {
			err := r.run(ctx)
			if err == nil {
				if r.failing.Swap(false) {
					r.log.Info("outbox relay sending again")
				}
				backoff = 100 * time.Millisecond
				break
			}
			if ctx.Err() != nil {
				return
			}
			if !r.failing.Swap(true) {
				r.log.Error("outbox relay failing; retrying with back-off", "err", err)
			}
			r.metrics.failures.Inc()
			sleep(ctx, backoff)
			backoff = min(backoff*2, 2*time.Second)
		}
	}
}

// queuePass opens a pass: a transaction that takes the advisory lock of every
// shard no other relay holds, then reads the oldest pending row of each key
// in those shards. Losing a pass's commit in a crash only means its rows
// are sent again (same ids), so it need not wait for the WAL flush.
//
// The read is a statement of its own, after the one that locks: under READ
// COMMITTED a statement sees the data as of its start, so a read in the
// locking statement could see rows that the lock's previous holder sent and
// deleted just before it let go, and send them again.
func (r *Relay) queuePass(b *pgx.Batch) {
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(`SET LOCAL synchronous_commit = off`)
	// The shards it got are handed to the read through a transaction-local
	// setting: reading them back from pg_locks would scan every backend's
	// locks, which under load cost more than the rest of the pass.
	b.Queue(`SELECT set_config('oof.relay_shards', coalesce(string_agg(s::text, ','), ''), true)
		FROM generate_series(0, $1::int - 1) AS s WHERE pg_try_advisory_xact_lock($2, s)`,
		Shards, lockNamespace)
	// One row per key (its oldest), so a key with a long backlog does not
	// fill the pass and hold up every other key.
	b.Queue(`SELECT seq, topic, key, header_keys, header_values, payload FROM (
			SELECT DISTINCT ON (topic, key) * FROM event_outbox
			WHERE published_at IS NULL
				AND shard = ANY(string_to_array(nullif(current_setting('oof.relay_shards'), ''), ',')::smallint[])
			ORDER BY topic, key, seq) AS oldest
		ORDER BY seq LIMIT $1`, r.opts.BatchMax)
}

// run relays until a pass finds nothing. Each pass is one round trip to
// PostgreSQL besides the produce: the statements that mark a pass's rows
// and commit it go in one pipeline with those that open the next pass.
func (r *Relay) run(ctx context.Context) error {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection still inside a transaction (an error below) is closed
	// by the pool on release, which rolls the transaction back.
	defer conn.Release()
	b := &pgx.Batch{}
	r.queuePass(b)
	rows, err := r.exchange(ctx, conn.Conn(), b, b.Len()-1)
	for err == nil && len(rows) > 0 {
		failpoint.Hit(failpoint.RelayBeforeProduce)
		sent, sendErr := r.send(oldestPerKey(rows))
		failpoint.Hit(failpoint.RelayAfterProduce)
		b = &pgx.Batch{}
		if len(sent) > 0 {
			r.relayed.add(sent)
			r.metrics.relayed.Add(float64(len(sent)))
			r.deleted.Add(int64(len(sent)))
			queueMark(b, sent)
		}
		if sendErr != nil {
			// Commit what Kafka has (or it would be sent again), then fail.
			b.Queue(`COMMIT`)
			if err := conn.Conn().SendBatch(context.WithoutCancel(ctx), b).Close(); err != nil {
				return err
			}
			return sendErr
		}
		b.Queue(`COMMIT`)
		r.queuePass(b)
		// Kafka has the rows: mark them even if we are shutting down.
		rows, err = r.exchange(context.WithoutCancel(ctx), conn.Conn(), b, b.Len()-1)
		if ctx.Err() != nil && err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	_, err = conn.Exec(context.WithoutCancel(ctx), `COMMIT`)
	return err
}

// exchange sends b, whose last statement reads pending rows and whose
// first skip statements return nothing of interest.
func (r *Relay) exchange(ctx context.Context, conn *pgx.Conn, b *pgx.Batch, skip int) ([]pendingRow, error) {
	br := conn.SendBatch(ctx, b)
	rows, err := readPending(br, skip)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return rows, err
}

// pendingRow is an outbox row on its way to Kafka.
type pendingRow struct {
	seq int64
	key string
	msg *sarama.ProducerMessage
}

func readPending(br pgx.BatchResults, skip int) ([]pendingRow, error) {
	for range skip {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingRow
	for rows.Next() {
		var rec eventlog.Record
		var seq int64
		var keys []string
		var values [][]byte
		if err := rows.Scan(&seq, &rec.Topic, &rec.Key, &keys, &values, &rec.Payload); err != nil {
			return nil, err
		}
		if len(keys) != len(values) {
			return nil, fmt.Errorf("outbox row %d: %d header keys, %d values", seq, len(keys), len(values))
		}
		for i := range keys {
			rec.Headers = append(rec.Headers, sarama.RecordHeader{Key: []byte(keys[i]), Value: values[i]})
		}
		out = append(out, pendingRow{seq: seq, key: rec.Key, msg: rec.Message()})
	}
	return out, rows.Err()
}

// send produces rows in order and returns those Kafka acknowledged. It
// waits for every outcome: sarama's own timeouts end each send, and giving
// up earlier would let a send land after its row was sent again.
func (r *Relay) send(rows []pendingRow) ([]relayedRow, error) {
	msgs := make([]*sarama.ProducerMessage, len(rows))
	for i, row := range rows {
		msgs[i] = row.msg
	}
	err := r.producer.Load().p.SendMessages(msgs)
	failed := map[*sarama.ProducerMessage]bool{}
	var perrs sarama.ProducerErrors
	if errors.As(err, &perrs) {
		for _, pe := range perrs {
			failed[pe.Msg] = true
		}
		if len(perrs) > 0 {
			err = fmt.Errorf("produce: %w", perrs[0].Err)
		}
	} else if err != nil {
		for _, m := range msgs {
			failed[m] = true
		}
	}
	return delivered(rows, failed), err
}

// delivered returns the rows Kafka acknowledged, in seq order, with where
// they landed.
func delivered(rows []pendingRow, failed map[*sarama.ProducerMessage]bool) []relayedRow {
	sent := make([]relayedRow, 0, len(rows))
	for _, row := range rows {
		if !failed[row.msg] {
			sent = append(sent, relayedRow{seq: row.seq, pos: eventlog.Position{
				Topic: row.msg.Topic, Partition: row.msg.Partition, Offset: row.msg.Offset}})
		}
	}
	return sent
}

// oldestPerKey keeps, of rows in seq order, the first row of each topic and
// key; the others wait for the next pass. One send must never carry two
// rows of a key: sarama fails a message whose retries ran out and then goes
// on (with a new idempotent-producer epoch) to deliver the messages queued
// behind it, so a later event of an aggregate would land on the log before
// an earlier one that is sent again afterwards. (Found by the Kafka-outage
// test: an update landed before its create.) The price: a key drains one
// event per pass, a few milliseconds each.
func oldestPerKey(rows []pendingRow) []pendingRow {
	type topicKey struct{ topic, key string }
	seen := make(map[topicKey]bool, len(rows))
	out := make([]pendingRow, 0, len(rows))
	for _, row := range rows {
		k := topicKey{row.msg.Topic, row.key}
		if !seen[k] {
			seen[k] = true
			out = append(out, row)
		}
	}
	return out
}

// queueMark removes relayed rows from the outbox and records where they
// landed.
func queueMark(b *pgx.Batch, sent []relayedRow) {
	seqs := make([]int64, len(sent))
	topics := make([]string, len(sent))
	parts := make([]int32, len(sent))
	offsets := make([]int64, len(sent))
	for i, s := range sent {
		seqs[i], topics[i], parts[i], offsets[i] = s.seq, s.pos.Topic, s.pos.Partition, s.pos.Offset
	}
	// One statement: the delete runs as a data-modifying CTE.
	b.Queue(`WITH gone AS (DELETE FROM event_outbox WHERE seq = ANY($1::bigint[]))
		INSERT INTO event_outbox_relayed (seq, topic, kafka_partition, kafka_offset)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[]) ON CONFLICT DO NOTHING`,
		seqs, topics, parts, offsets)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
