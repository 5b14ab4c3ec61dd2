package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// ServerInterceptors make a SERVER span of every call, the child of the
// caller's traceparent (and tracestate) when it sent one. The call's context
// carries the span, so PostgreSQL and Redis spans of the handler are its
// children, and the span's traceparent, which the outbox stores with each
// event the call writes (eventlog.Encode) so that the relay's send and the
// projectors continue the trace. They replace middleware.Trace, which only
// forwards the caller's traceparent, and belong just inside the metrics
// interceptor: the span then covers the whole call and sees the status the
// client is answered. Nil on a nil Tracer.
func (t *Tracer) ServerInterceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	if t == nil {
		return nil, nil
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, span := t.startServer(ctx, info.FullMethod)
		resp, err := h(ctx, req)
		endServer(span, err)
		return resp, err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, span := t.startServer(ss.Context(), info.FullMethod)
		err := h(srv, &spanStream{ServerStream: ss, ctx: ctx})
		endServer(span, err)
		return err
	}
	return unary, stream
}

func (t *Tracer) startServer(ctx context.Context, method string) (context.Context, trace.Span) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("traceparent"); len(v) > 0 {
		if sc, ok := ParseTraceParent(v[0]); ok {
			if ts := md.Get("tracestate"); len(ts) > 0 {
				if state, err := trace.ParseTraceState(strings.Join(ts, ",")); err == nil {
					sc = sc.WithTraceState(state)
				}
			}
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	name := strings.TrimPrefix(method, "/")
	service, rpcMethod, _ := strings.Cut(name, "/")
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("rpc.system", "grpc"),
		attribute.String("rpc.service", service),
		attribute.String("rpc.method", rpcMethod),
	))
	return eventlog.WithTraceParent(ctx, FormatTraceParent(span.SpanContext())), span
}

// endServer records the answered status; like OpenTelemetry's gRPC
// conventions, only codes that mean the server failed mark the span as an
// error (a NOT_FOUND is the caller's problem).
func endServer(span trace.Span, err error) {
	st := status.Convert(err)
	span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(st.Code())))
	switch st.Code() {
	case grpccodes.Unknown, grpccodes.DeadlineExceeded, grpccodes.Unimplemented, grpccodes.Internal,
		grpccodes.Unavailable, grpccodes.DataLoss:
		span.SetStatus(codes.Error, st.Message())
	}
	span.End()
}

// spanStream is a server stream whose context carries the call's span.
type spanStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *spanStream) Context() context.Context { return s.ctx }
