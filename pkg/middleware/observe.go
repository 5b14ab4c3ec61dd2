package middleware

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// Metrics records per-method counts and latencies.
type Metrics struct {
	handled *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// NewMetrics registers the gRPC server metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oof_grpc_server_handled_total", Help: "RPCs completed, by method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oof_grpc_server_handling_seconds", Help: "RPC latency by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method"}),
	}
	reg.MustRegister(m.handled, m.latency)
	return m
}

func (m *Metrics) observe(method string, start time.Time, err error) {
	m.handled.WithLabelValues(method, status.Code(err).String()).Inc()
	m.latency.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

// Interceptors returns the unary and stream interceptors.
func (m *Metrics) Interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		m.observe(info.FullMethod, start, err)
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		start := time.Now()
		err := h(srv, ss)
		m.observe(info.FullMethod, start, err)
		return err
	}
	return unary, stream
}

// Trace carries the caller's W3C traceparent into the context, so events
// produced for the request carry it to Kafka.
func Trace() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	with := func(ctx context.Context) context.Context {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get("traceparent"); len(v) > 0 && validTraceParent(v[0]) {
			return eventlog.WithTraceParent(ctx, v[0])
		}
		return ctx
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(with(ctx), req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(srv, &contextStream{ServerStream: ss, ctx: with(ss.Context())})
	}
	return unary, stream
}

// validTraceParent accepts the W3C version-00 shape only, so arbitrary
// client bytes never reach Kafka headers.
func validTraceParent(s string) bool {
	if len(s) != 55 || s[:3] != "00-" || s[35] != '-' || s[52] != '-' ||
		s[3:35] == "00000000000000000000000000000000" || s[36:52] == "0000000000000000" {
		return false
	}
	for i, c := range s {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// AccessLog logs every finished RPC at debug level.
func AccessLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		log.DebugContext(ctx, "rpc", "method", info.FullMethod, "code", status.Code(err).String(), "duration", time.Since(start))
		return resp, err
	}
}
