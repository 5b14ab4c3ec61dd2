package livews

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count the gateway's sockets (docs/realtime.md): how many are
// open, why they ended and how many upgrades were refused.
type Metrics struct {
	open    prometheus.Gauge
	closed  *prometheus.CounterVec
	refused *prometheus.CounterVec
}

// NewMetrics registers the gateway's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "oof_ws_open_sockets",
			Help: "WebSockets of the web SDK's protocol open on this instance."}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oof_ws_closed_total",
			Help: "WebSockets ended, by close code (1000/1001 normal, 1008 abuse, 1013 fell behind, 4401 token ended; 1006 dropped without a close)."}, []string{"code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oof_ws_refused_total",
			Help: "WebSocket upgrades refused, by HTTP status."}, []string{"status"}),
	}
	reg.MustRegister(m.open, m.closed, m.refused)
	return m
}

func (m *Metrics) opened() {
	if m != nil {
		m.open.Inc()
	}
}

func (m *Metrics) ended(code int) {
	if m != nil {
		m.open.Dec()
		m.closed.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) refusedWith(status int) {
	if m != nil {
		m.refused.WithLabelValues(strconv.Itoa(status)).Inc()
	}
}
