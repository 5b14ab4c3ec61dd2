package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// relayedRow is a row Kafka acknowledged, with where it landed.
type relayedRow struct {
	seq int64
	pos eventlog.Position
}

// relayedIndex remembers for a short while where this process's relay put
// each row, so a command can wait for its own events without asking
// PostgreSQL. Rows another process relayed are looked up in event_outbox.
type relayedIndex struct {
	mu      sync.Mutex
	bySeq   map[int64]relayedEntry
	changed chan struct{} // closed and replaced whenever rows are added
}

type relayedEntry struct {
	pos eventlog.Position
	at  time.Time
}

const relayedMemory = 30 * time.Second

func newRelayedIndex() *relayedIndex {
	return &relayedIndex{bySeq: map[int64]relayedEntry{}, changed: make(chan struct{})}
}

func (x *relayedIndex) add(rows []relayedRow) {
	now := time.Now()
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, r := range rows {
		x.bySeq[r.seq] = relayedEntry{pos: r.pos, at: now}
	}
	close(x.changed)
	x.changed = make(chan struct{})
}

// lookup fills out[i] for every seqs[i] it knows and returns how many are
// still missing, with the channel that announces the next addition.
func (x *relayedIndex) lookup(seqs []int64, out []eventlog.Position, found []bool) (int, <-chan struct{}) {
	x.mu.Lock()
	defer x.mu.Unlock()
	missing := 0
	for i, s := range seqs {
		if found[i] {
			continue
		}
		if e, ok := x.bySeq[s]; ok {
			out[i], found[i] = e.pos, true
			continue
		}
		missing++
	}
	return missing, x.changed
}

func (x *relayedIndex) expireLoop(ctx context.Context) {
	t := time.NewTicker(relayedMemory / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cutoff := time.Now().Add(-relayedMemory)
		x.mu.Lock()
		for s, e := range x.bySeq {
			if e.at.Before(cutoff) {
				delete(x.bySeq, s)
			}
		}
		x.mu.Unlock()
	}
}

// Positions waits until every row of seqs is on Kafka and returns where
// each landed, in order; it fails when ctx ends first.
func (r *Relay) Positions(ctx context.Context, seqs []int64) ([]eventlog.Position, error) {
	out := make([]eventlog.Position, len(seqs))
	found := make([]bool, len(seqs))
	// Another process's relay may have sent the rows: look them up in the
	// table after a short while, and again now and then.
	lookupAfter := time.NewTimer(100 * time.Millisecond)
	defer lookupAfter.Stop()
	for {
		missing, changed := r.relayed.lookup(seqs, out, found)
		if missing == 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		case <-lookupAfter.C:
			if err := r.lookupStored(ctx, seqs, out, found); err != nil && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lookupAfter.Reset(250 * time.Millisecond)
		}
	}
}

func (r *Relay) lookupStored(ctx context.Context, seqs []int64, out []eventlog.Position, found []bool) error {
	rows, err := r.pool.Query(ctx, `SELECT seq, topic, kafka_partition, kafka_offset FROM event_outbox_relayed
		WHERE seq = ANY($1)`, seqs)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var pos eventlog.Position
		if err := rows.Scan(&seq, &pos.Topic, &pos.Partition, &pos.Offset); err != nil {
			return err
		}
		for i, s := range seqs {
			if s == seq {
				out[i], found[i] = pos, true
			}
		}
	}
	return rows.Err()
}

type relayMetrics struct {
	relayed  prometheus.Counter
	failures prometheus.Counter
	backlog  prometheus.Gauge
}

func newRelayMetrics(reg prometheus.Registerer) relayMetrics {
	m := relayMetrics{
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "oof_outbox_relayed_total",
			Help: "Outbox rows the relay of this process sent to Kafka."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "oof_outbox_relay_failures_total",
			Help: "Relay attempts that failed (Kafka or PostgreSQL unreachable); they are retried."}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "oof_outbox_backlog",
			Help: "Committed events not yet on Kafka (all processes), as of the last poll."}),
	}
	if reg != nil {
		reg.MustRegister(m.relayed, m.failures, m.backlog)
	}
	return m
}
