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

// Relay produces committed outbox rows to Kafka. Several relays (one per
// command process) may run against one database: per shard, one at a time
// holds the shard's advisory lock, reads its oldest pending rows, sends them
// and marks them in the same transaction, so rows are neither sent by two
// relays nor out of order.
type Relay struct {
	pool     *pgxpool.Pool
	connect  func() (sarama.SyncProducer, error)
	log      *slog.Logger
	opts     RelayOptions
	kicks    [Shards]chan struct{}
	producer atomic.Pointer[producerBox]
	failing  atomic.Bool // the last send failed: Kafka is away
	relayed  *relayedIndex
	metrics  relayMetrics
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
	for i := range r.kicks {
		r.kicks[i] = make(chan struct{}, 1)
	}
	return r
}

// Kick asks the shards' loops to relay now.
func (r *Relay) Kick(shards ...int16) {
	for _, s := range shards {
		select {
		case r.kicks[s] <- struct{}{}:
		default: // a kick is already pending; it will see these rows too
		}
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
	done := make(chan struct{}, Shards+2)
	for s := range Shards {
		go func() { r.shardLoop(ctx, int16(s)); done <- struct{}{} }()
	}
	go func() { r.pollLoop(ctx); done <- struct{}{} }()
	go func() { r.relayed.expireLoop(ctx); done <- struct{}{} }()
	for range Shards + 2 {
		<-done
	}
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
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (r *Relay) shardLoop(ctx context.Context, shard int16) {
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kicks[shard]:
		}
		for ctx.Err() == nil {
			more, err := r.relayOnce(ctx, shard)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !r.failing.Swap(true) {
					r.log.Error("outbox relay failing; retrying with back-off", "shard", shard, "err", err)
				}
				r.metrics.failures.Inc()
				sleep(ctx, backoff)
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			if r.failing.Swap(false) {
				r.log.Info("outbox relay sending again")
			}
			backoff = 100 * time.Millisecond
			if !more {
				break
			}
		}
	}
}

// pollLoop finds rows no kick announced (another process committed them,
// or a crash left them) and reports the backlog; it also drops old marks.
func (r *Relay) pollLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.Poll)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		backlog, err := r.pendingShards(ctx)
		if err != nil {
			continue
		}
		total := 0
		for shard, n := range backlog {
			total += n
			r.Kick(shard)
		}
		r.metrics.backlog.Set(float64(total))
		if time.Since(lastPrune) > r.opts.KeepRelayed/4 {
			lastPrune = time.Now()
			if _, err := r.pool.Exec(ctx, `DELETE FROM event_outbox WHERE published_at < now() - $1::interval`,
				r.opts.KeepRelayed.String()); err != nil && ctx.Err() == nil {
				r.log.Warn("prune relayed outbox rows", "err", err)
			}
		}
	}
}

func (r *Relay) pendingShards(ctx context.Context) (map[int16]int, error) {
	rows, err := r.pool.Query(ctx, `SELECT shard, count(*) FROM event_outbox WHERE published_at IS NULL GROUP BY shard`)
	if err != nil {
		return nil, err
	}
	out := map[int16]int{}
	for rows.Next() {
		var s int16
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// pendingRow is an outbox row on its way to Kafka.
type pendingRow struct {
	seq int64
	key string
	msg *sarama.ProducerMessage
}

// relayOnce sends the shard's oldest pending rows and marks them; it
// reports whether more rows may be pending.
func (r *Relay) relayOnce(ctx context.Context, shard int16) (bool, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	// Losing this transaction's commit in a crash only means the rows are
	// sent again (same ids), so it need not wait for the WAL flush.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockNamespace, int32(shard)); err != nil {
		return false, err
	}
	read, err := r.readPending(ctx, tx, shard)
	if err != nil || len(read) == 0 {
		if err == nil {
			err = tx.Commit(ctx)
		}
		return false, err
	}
	rows, deferred := oldestPerKey(read)
	more := len(read) == r.opts.BatchMax || deferred > 0
	failpoint.Hit(failpoint.RelayBeforeProduce)
	sent, sendErr := r.send(rows)
	failpoint.Hit(failpoint.RelayAfterProduce)
	if len(sent) > 0 {
		r.relayed.add(sent)
		r.metrics.relayed.Add(float64(len(sent)))
		// Kafka has them: mark them even if we are shutting down, or they
		// would be sent again.
		if err := markRelayed(context.WithoutCancel(ctx), tx, sent); err != nil {
			return false, err
		}
		if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
			return false, err
		}
	}
	if sendErr != nil {
		return false, sendErr
	}
	return more, nil
}

// oldestPerKey keeps, of rows in seq order, the first row of each topic and
// key and returns how many it deferred to a later send. One send must never
// carry two rows of a key: sarama fails a message whose retries ran out
// and then goes on (with a new idempotent-producer epoch) to deliver the
// messages queued behind it, so a later event of an aggregate could land on
// the log before an earlier one that is sent again afterwards.
func oldestPerKey(rows []pendingRow) ([]pendingRow, int) {
	type topicKey struct{ topic, key string }
	seen := make(map[topicKey]bool, len(rows))
	out := rows[:0:0]
	for _, row := range rows {
		k := topicKey{row.msg.Topic, row.key}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, row)
	}
	return out, len(rows) - len(out)
}

func (r *Relay) readPending(ctx context.Context, tx pgx.Tx, shard int16) ([]pendingRow, error) {
	rows, err := tx.Query(ctx, `SELECT seq, topic, key, header_keys, header_values, payload FROM event_outbox
		WHERE shard = $1 AND published_at IS NULL ORDER BY seq LIMIT $2`, shard, r.opts.BatchMax)
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
	sent := make([]relayedRow, 0, len(rows))
	for _, row := range rows {
		if !failed[row.msg] {
			sent = append(sent, relayedRow{seq: row.seq, pos: eventlog.Position{
				Topic: row.msg.Topic, Partition: row.msg.Partition, Offset: row.msg.Offset}})
		}
	}
	return sent, err
}

func markRelayed(ctx context.Context, tx pgx.Tx, sent []relayedRow) error {
	seqs := make([]int64, len(sent))
	parts := make([]int32, len(sent))
	offsets := make([]int64, len(sent))
	for i, s := range sent {
		seqs[i], parts[i], offsets[i] = s.seq, s.pos.Partition, s.pos.Offset
	}
	_, err := tx.Exec(ctx, `UPDATE event_outbox o SET published_at = now(), kafka_partition = u.p, kafka_offset = u.o
		FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS u(seq, p, o) WHERE o.seq = u.seq`, seqs, parts, offsets)
	return err
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
