package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Tracing is the OpenTelemetry settings (pkg/tracing, docs/operations.md).
type Tracing struct {
	// OTLPEndpoint is the OTLP/gRPC collector spans go to: host:port
	// (plaintext) or an http:// or https:// URL. Empty (the default) turns
	// tracing off. OOF_OTLP_ENDPOINT, else the standard
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT.
	OTLPEndpoint string
	// SampleRatio is the share of traces started by this process that are
	// recorded; a call carrying a traceparent keeps its caller's decision.
	SampleRatio float64
}

// DefaultTracing is used when nothing is configured: off.
func DefaultTracing() Tracing { return Tracing{SampleRatio: 1} }

func (r *reader) tracing() Tracing {
	d := DefaultTracing()
	t := Tracing{
		OTLPEndpoint: r.str("OOF_OTLP_ENDPOINT",
			r.str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", r.str("OTEL_EXPORTER_OTLP_ENDPOINT", d.OTLPEndpoint))),
		SampleRatio: r.ratio("OOF_TRACE_SAMPLE_RATIO", d.SampleRatio),
	}
	// The exporter would quietly fall back to localhost:4317 on an
	// endpoint it cannot read: refuse it here instead.
	if t.OTLPEndpoint != "" && !validEndpoint(t.OTLPEndpoint) {
		r.fail("OOF_OTLP_ENDPOINT", fmt.Sprintf("want host:port or an http:// or https:// URL (here or in OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT), got %q", t.OTLPEndpoint))
		t.OTLPEndpoint = d.OTLPEndpoint
	}
	return t
}

func validEndpoint(e string) bool {
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
	}
	host, port, err := net.SplitHostPort(e)
	return err == nil && host != "" && port != ""
}

// ratio reads a number in [0, 1].
func (r *reader) ratio(key string, def float64) float64 {
	raw := r.str(key, "")
	if raw == "" {
		return def
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f < 0 || f > 1 {
		r.fail(key, fmt.Sprintf("want a number in [0, 1], got %q", raw))
		return def
	}
	return f
}
