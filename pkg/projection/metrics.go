package projection

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports the runners' dead letters:
//
//	oof_projector_dead_letters_total{projector}  records this process dead-lettered
//	oof_projector_dead_letters_open{projector}   dead letters not re-driven yet
//
// The open count is read from PostgreSQL at each scrape (a count over a
// partial index), so it falls after a re-drive from another process, and
// every process sharing the database reports the same value. A nil
// *Metrics counts nothing.
type Metrics struct {
	total *prometheus.CounterVec
	open  *openDeadLetters
}

// NewMetrics registers the dead-letter metrics in reg; the open count
// queries pool.
func NewMetrics(reg prometheus.Registerer, pool *pgxpool.Pool, log *slog.Logger) *Metrics {
	m := &Metrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oof_projector_dead_letters_total",
			Help: "Records a projector gave up on and wrote to projector_dead_letters.",
		}, []string{"projector"}),
		open: &openDeadLetters{pool: pool, log: log, known: map[string]bool{},
			desc: prometheus.NewDesc("oof_projector_dead_letters_open",
				"Dead letters not re-driven yet (status dead), from PostgreSQL.", []string{"projector"}, nil)},
	}
	reg.MustRegister(m.total, m.open)
	return m
}

// track makes the projector's series exist (at 0) before its first dead
// letter, so rates and alerts see it.
func (m *Metrics) track(projector string) {
	if m == nil {
		return
	}
	m.total.WithLabelValues(projector)
	m.open.mu.Lock()
	m.open.known[projector] = true
	m.open.mu.Unlock()
}

func (m *Metrics) deadLettered(projector string) {
	if m != nil {
		m.total.WithLabelValues(projector).Inc()
	}
}

// openDeadLetters collects the open count per projector at scrape time.
type openDeadLetters struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	desc  *prometheus.Desc
	mu    sync.Mutex
	known map[string]bool // projectors of this process: reported even at 0
}

func (c *openDeadLetters) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *openDeadLetters) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts := map[string]int64{}
	c.mu.Lock()
	for name := range c.known {
		counts[name] = 0
	}
	c.mu.Unlock()
	rows, err := c.pool.Query(ctx, `SELECT projector, count(*) FROM projector_dead_letters
		WHERE status = 'dead' GROUP BY projector`)
	if err == nil {
		for rows.Next() {
			var name string
			var n int64
			if err = rows.Scan(&name, &n); err != nil {
				break
			}
			counts[name] = n
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		// Leave the series out rather than fail the whole scrape: /metrics
		// matters most while the database is in trouble.
		c.log.Warn("open dead letters not counted", "err", err)
		return
	}
	for name, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), name)
	}
}
