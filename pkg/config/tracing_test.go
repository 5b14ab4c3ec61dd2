package config

import (
	"strings"
	"testing"
)

func TestTracingSettings(t *testing.T) {
	cases := []struct {
		name     string
		env      map[string]string
		want     Tracing
		errMatch string
	}{
		{"off by default", nil, Tracing{SampleRatio: 1}, ""},
		{"oof endpoint", map[string]string{"OOF_OTLP_ENDPOINT": "127.0.0.1:4317"},
			Tracing{OTLPEndpoint: "127.0.0.1:4317", SampleRatio: 1}, ""},
		{"standard endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"},
			Tracing{OTLPEndpoint: "http://collector:4317", SampleRatio: 1}, ""},
		{"traces endpoint wins over the general one", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4317"},
			Tracing{OTLPEndpoint: "http://b:4317", SampleRatio: 1}, ""},
		{"oof endpoint wins over the standard ones", map[string]string{
			"OOF_OTLP_ENDPOINT": "c:4317", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4317"},
			Tracing{OTLPEndpoint: "c:4317", SampleRatio: 1}, ""},
		{"endpoint without port", map[string]string{"OOF_OTLP_ENDPOINT": "collector"}, Tracing{SampleRatio: 1}, "OOF_OTLP_ENDPOINT"},
		{"endpoint of another scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://collector:4317"},
			Tracing{SampleRatio: 1}, "OOF_OTLP_ENDPOINT"},
		{"endpoint url without host", map[string]string{"OOF_OTLP_ENDPOINT": "https://"}, Tracing{SampleRatio: 1}, "OOF_OTLP_ENDPOINT"},
		{"ratio", map[string]string{"OOF_TRACE_SAMPLE_RATIO": "0.1"}, Tracing{SampleRatio: 0.1}, ""},
		{"ratio zero", map[string]string{"OOF_TRACE_SAMPLE_RATIO": "0"}, Tracing{SampleRatio: 0}, ""},
		{"ratio above one", map[string]string{"OOF_TRACE_SAMPLE_RATIO": "1.5"}, Tracing{SampleRatio: 1}, "OOF_TRACE_SAMPLE_RATIO"},
		{"ratio not a number", map[string]string{"OOF_TRACE_SAMPLE_RATIO": "all"}, Tracing{SampleRatio: 1}, "OOF_TRACE_SAMPLE_RATIO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.env))
			if tc.errMatch == "" && err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tc.errMatch != "" && (err == nil || !strings.Contains(err.Error(), tc.errMatch)) {
				t.Fatalf("Load error %v, want one naming %s", err, tc.errMatch)
			}
			if c.Tracing != tc.want {
				t.Fatalf("tracing %+v, want %+v", c.Tracing, tc.want)
			}
		})
	}
}
