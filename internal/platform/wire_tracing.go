package platform

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/oof-gg/platform/pkg/middleware"
	"github.com/oof-gg/platform/pkg/tracing"
)

// startTracing starts the OTLP exporter when an endpoint is configured;
// otherwise p.tracer stays nil and nothing below adds a span.
func (p *Platform) startTracing(ctx context.Context) error {
	t, err := tracing.New(ctx, tracing.Config{
		Endpoint: p.cfg.Tracing.OTLPEndpoint, SampleRatio: p.cfg.Tracing.SampleRatio, Target: string(p.target),
	}, p.log)
	if err != nil {
		return err
	}
	p.tracer, p.infra.tracer = t, t
	return nil
}

// stopTracing exports the spans still buffered (bounded: a collector that
// is away must not hold up a shutdown).
func (p *Platform) stopTracing() {
	if p.tracer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.tracer.Shutdown(ctx); err != nil {
		p.log.Warn("flushing spans at shutdown", "err", err)
	}
}

// callTracing returns the interceptors that trace calls, one of the pair
// nil: span (just inside the metrics, so it covers the whole call and sees
// the answered status) when tracing is on, else trace (middleware.Trace,
// which forwards a caller's traceparent to the events as before). The span
// interceptor sets the events' traceparent itself (its span's), so
// middleware.Trace would only overwrite it.
func (p *Platform) callTracing() (spanU grpc.UnaryServerInterceptor, spanS grpc.StreamServerInterceptor,
	traceU grpc.UnaryServerInterceptor, traceS grpc.StreamServerInterceptor) {
	if p.tracer == nil {
		traceU, traceS = middleware.Trace()
		return nil, nil, traceU, traceS
	}
	spanU, spanS = p.tracer.ServerInterceptors()
	return spanU, spanS, nil, nil
}

// unaries drops the nil interceptors of a chain (so tracing off adds no
// link to it).
func unaries(in ...grpc.UnaryServerInterceptor) []grpc.UnaryServerInterceptor {
	out := in[:0]
	for _, i := range in {
		if i != nil {
			out = append(out, i)
		}
	}
	return out
}

// streams is unaries for stream interceptors.
func streams(in ...grpc.StreamServerInterceptor) []grpc.StreamServerInterceptor {
	out := in[:0]
	for _, i := range in {
		if i != nil {
			out = append(out, i)
		}
	}
	return out
}
