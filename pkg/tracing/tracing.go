// Package tracing is the platform's OpenTelemetry tracing: spans for gRPC
// calls, Kafka sends, projector batches, PostgreSQL statements and Redis
// commands, exported over OTLP/gRPC, and the W3C traceparent that carries a
// trace from a call through the outbox and Kafka into the projectors.
//
// Tracing is off unless an OTLP endpoint is configured. Off, New returns a
// nil *Tracer and every method of a nil *Tracer hands back what it was
// given (the plain producer, no interceptor, no hook), so the platform's
// paths have no span, no exporter and no allocation for it: the cost is a
// nil check where the wiring happens, none per call.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation names the platform's tracer (instrumentation scope).
const instrumentation = "github.com/oof-gg/platform"

// Config is what New needs.
type Config struct {
	// Endpoint is the OTLP/gRPC collector: "host:port" (plaintext) or a
	// URL, "http://host:port" (plaintext) or "https://host:port" (TLS).
	// Empty turns tracing off.
	Endpoint string
	// SampleRatio is the share of traces started here that are recorded,
	// in [0, 1]. A call that arrives with a traceparent keeps its
	// caller's decision.
	SampleRatio float64
	// Target is the binary's -target, a resource attribute (oof.target).
	Target string
}

// Tracer makes the platform's spans. A nil *Tracer is tracing off.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// New starts the exporter and returns the tracer, or nil (and no error)
// when cfg has no endpoint. The exporter connects lazily: a collector that
// is down costs dropped spans, never a failed start.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Tracer, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithTimeout(5 * time.Second)}
	if strings.Contains(cfg.Endpoint, "://") {
		opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
	} else {
		// A bare host:port is a collector beside the process (an agent or
		// sidecar): plaintext, as OTLP's own default port 4317 is.
		opts = append(opts, otlptracegrpc.WithEndpoint(cfg.Endpoint), otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter %s: %w", cfg.Endpoint, err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "oof"), attribute.String("oof.target", cfg.Target)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		log.Warn("tracing resource incomplete", "err", err)
	}
	if res == nil {
		res = resource.Default()
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	log.Info("tracing on: spans are exported over OTLP", "endpoint", cfg.Endpoint, "sample_ratio", cfg.SampleRatio)
	return &Tracer{provider: provider, tracer: provider.Tracer(instrumentation)}, nil
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// end ends span with err's outcome.
func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// FormatTraceParent is sc as a W3C traceparent header value (version 00).
func FormatTraceParent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	var b strings.Builder
	b.Grow(55)
	b.WriteString("00-")
	b.WriteString(sc.TraceID().String())
	b.WriteByte('-')
	b.WriteString(sc.SpanID().String())
	if sc.IsSampled() {
		b.WriteString("-01")
	} else {
		b.WriteString("-00")
	}
	return b.String()
}

// ParseTraceParent reads a version-00 W3C traceparent; ok is false for
// anything else (including all-zero ids). The result is a remote context.
func ParseTraceParent(s string) (sc trace.SpanContext, ok bool) {
	if len(s) != 55 || s[:3] != "00-" || s[35] != '-' || s[52] != '-' {
		return sc, false
	}
	tid, err := trace.TraceIDFromHex(s[3:35])
	if err != nil {
		return sc, false
	}
	sid, err := trace.SpanIDFromHex(s[36:52])
	if err != nil {
		return sc, false
	}
	var flags trace.TraceFlags
	switch s[53:] {
	case "00":
	case "01":
		flags = trace.FlagsSampled
	default:
		// Other flag bits are not defined by version 00: keep only sampled.
		var f byte
		if _, err := fmt.Sscanf(s[53:], "%02x", &f); err != nil {
			return sc, false
		}
		flags = trace.TraceFlags(f) & trace.FlagsSampled
	}
	sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true})
	return sc, sc.IsValid()
}
