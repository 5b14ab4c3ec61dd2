package middleware

import (
	"context"
	"log/slog"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// Metrics are the standard gRPC server metrics of go-grpc-middleware's
// Prometheus provider (grpc_server_started_total, grpc_server_handled_total
// {grpc_type, grpc_service, grpc_method, grpc_code},
// grpc_server_handling_seconds, grpc_server_msg_{received,sent}_total), so
// stock gRPC dashboards and alerts work unchanged.
type Metrics struct{ server *grpcprom.ServerMetrics }

// NewMetrics registers the gRPC server metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}),
	))
	reg.MustRegister(m)
	return &Metrics{server: m}
}

// Interceptors returns the unary and stream interceptors. They must be the
// outermost, so they count what the client is answered (after recovery and
// error mapping).
func (m *Metrics) Interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	return m.server.UnaryServerInterceptor(), m.server.StreamServerInterceptor()
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

// AccessLog logs every finished RPC at debug level: unary calls and
// streams (with how long the stream was open).
func AccessLog(log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		log.DebugContext(ctx, "rpc", "method", info.FullMethod, "code", status.Code(err).String(), "duration", time.Since(start))
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		start := time.Now()
		err := h(srv, ss)
		log.DebugContext(ss.Context(), "rpc", "method", info.FullMethod, "stream", true,
			"code", status.Code(err).String(), "duration", time.Since(start))
		return err
	}
	return unary, stream
}
