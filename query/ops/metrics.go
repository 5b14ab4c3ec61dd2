package ops

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LagCollector exports what `oof status` shows on /metrics, computed by
// the same Statuser at each scrape:
//
//	oof_projector_lag_records{projector,topic,partition}  end offset − stored next offset
//	oof_projector_stored_offset{projector,topic,partition} the stored next offset
//
// A partition whose end offset Kafka did not give is left out (an absent
// series, not a made-up 0); if the status cannot be read at all, the
// scrape goes on without these series. Dead letters and the outbox backlog
// have their own collectors (oof_projector_dead_letters_open,
// oof_outbox_backlog).
type LagCollector struct {
	Status  *Statuser
	Timeout time.Duration // per scrape (default 5 s)
	Log     *slog.Logger

	lag, stored *prometheus.Desc
}

// NewLagCollector describes the gauges of st's consumers.
func NewLagCollector(st *Statuser, log *slog.Logger) *LagCollector {
	labels := []string{"projector", "topic", "partition"}
	return &LagCollector{Status: st, Log: log,
		lag: prometheus.NewDesc("oof_projector_lag_records",
			"Records on the partition the projector has not applied yet (end offset minus its stored next offset).", labels, nil),
		stored: prometheus.NewDesc("oof_projector_stored_offset",
			"The projector's stored next offset on the partition (projector_offsets, or Redis for live and global).", labels, nil),
	}
}

func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.stored
}

func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := c.Status.Status(ctx)
	if err != nil {
		c.Log.Warn("projector lag not measured", "err", err)
		return
	}
	if st.KafkaError != "" {
		c.Log.Warn("projector lag partly unknown", "err", st.KafkaError)
	}
	for _, l := range st.Lag {
		p := strconv.Itoa(int(l.Partition))
		ch <- prometheus.MustNewConstMetric(c.stored, prometheus.GaugeValue, float64(l.Stored), l.Projector, l.Topic, p)
		if l.Lag >= 0 {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(l.Lag), l.Projector, l.Topic, p)
		}
	}
}
