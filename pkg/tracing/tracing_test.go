package tracing

import (
	"context"
	"errors"
	"testing"

	"github.com/IBM/sarama"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/oof-gg/platform/pkg/eventlog"
)

const callerTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// recording is a Tracer whose spans stay in memory.
func recording(t *testing.T) (*Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &Tracer{provider: tp, tracer: tp.Tracer(instrumentation)}, rec
}

func TestTraceParentFormatAndParse(t *testing.T) {
	cases := []struct {
		in      string
		ok      bool
		sampled bool
	}{
		{callerTP, true, true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", true, true}, // unknown flag bits dropped
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, false},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, false},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz", false, false},
		{"garbage", false, false},
		{"", false, false},
	}
	for _, tc := range cases {
		sc, ok := ParseTraceParent(tc.in)
		if ok != tc.ok {
			t.Fatalf("ParseTraceParent(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
		if !ok {
			continue
		}
		if sc.IsSampled() != tc.sampled || !sc.IsRemote() {
			t.Fatalf("ParseTraceParent(%q) = %+v", tc.in, sc)
		}
		if got := FormatTraceParent(sc); got[:53] != tc.in[:53] {
			t.Fatalf("FormatTraceParent(ParseTraceParent(%q)) = %q", tc.in, got)
		}
	}
	if FormatTraceParent(trace.SpanContext{}) != "" {
		t.Fatal("an invalid span context must format as no header")
	}
}

// Off (a nil Tracer) every hook is absent and the producer is the one
// given: no record gains a traceparent, none is rewritten, and the caller's
// traceparent (forwarded by middleware.Trace) reaches Kafka unchanged.
func TestOffAddsNothing(t *testing.T) {
	var off *Tracer
	sp := &fakeProducer{}
	if got := off.WrapProducer(sp); got != sp {
		t.Fatalf("WrapProducer on a nil Tracer = %T, want the producer itself", got)
	}
	u, s := off.ServerInterceptors()
	if u != nil || s != nil || off.PgxTracer() != nil || off.RedisHook() != nil {
		t.Fatal("a nil Tracer must hand out no interceptor, pgx tracer or redis hook")
	}
	if err := off.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"no caller traceparent: no header", context.Background(), ""},
		{"caller traceparent: forwarded as is", eventlog.WithTraceParent(context.Background(), callerTP), callerTP},
	} {
		rec, err := eventlog.Encode(tc.ctx, eventlog.Event{Topic: "t", Key: "k", Message: &emptyEvent{}}, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		msg := rec.Message()
		if err := off.WrapProducer(sp).SendMessages([]*sarama.ProducerMessage{msg}); err != nil {
			t.Fatal(err)
		}
		i := headerIndex(sp.sent[len(sp.sent)-1].Headers, eventlog.HeaderTraceParent)
		got := ""
		if i >= 0 {
			got = string(sp.sent[len(sp.sent)-1].Headers[i].Value)
		}
		if got != tc.want {
			t.Fatalf("%s: traceparent %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSendSpansContinueTheRecordsTrace(t *testing.T) {
	tr, rec := recording(t)
	sp := &fakeProducer{fail: map[int]error{1: errors.New("broker gone")}}
	traced := tr.WrapProducer(sp)
	withTP := &sarama.ProducerMessage{Topic: "oof.game.v1", Key: sarama.StringEncoder("g1"), Headers: []sarama.RecordHeader{
		{Key: []byte(eventlog.HeaderID), Value: []byte("id-1")},
		{Key: []byte(eventlog.HeaderTraceParent), Value: []byte(callerTP)},
	}}
	stored := withTP.Headers // an outbox row's headers: must stay as stored
	without := &sarama.ProducerMessage{Topic: "oof.game.v1", Key: sarama.StringEncoder("g2")}
	err := traced.SendMessages([]*sarama.ProducerMessage{withTP, without})
	if err == nil {
		t.Fatal("the fake's failure must come through")
	}
	if string(stored[1].Value) != callerTP {
		t.Fatal("the traced producer changed the caller's header slice in place")
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d send spans, want 2", len(spans))
	}
	caller, _ := ParseTraceParent(callerTP)
	first, second := spans[0], spans[1]
	if first.Name() != "send oof.game.v1" || first.SpanKind() != trace.SpanKindProducer {
		t.Fatalf("span %q kind %v", first.Name(), first.SpanKind())
	}
	if first.Parent().SpanID() != caller.SpanID() || first.SpanContext().TraceID() != caller.TraceID() {
		t.Fatal("a record's send span must be the child of the traceparent it carries")
	}
	if got := string(withTP.Headers[headerIndex(withTP.Headers, eventlog.HeaderTraceParent)].Value); got != FormatTraceParent(first.SpanContext()) {
		t.Fatalf("record traceparent %q, want the send span's", got)
	}
	if second.Parent().IsValid() || headerIndex(without.Headers, eventlog.HeaderTraceParent) < 0 {
		t.Fatal("a record without traceparent starts a trace and carries it")
	}
	if first.Status().Code.String() == "Error" || second.Status().Code.String() != "Error" {
		t.Fatalf("statuses %v, %v: only the failed record's span is an error", first.Status(), second.Status())
	}
}

func TestApplySpanFollowsTheFirstRecordAndLinksTheOthers(t *testing.T) {
	tr, rec := recording(t)
	other := "00-11111111111111111111111111111111-2222222222222222-01"
	batch := []*sarama.ConsumerMessage{
		{Offset: 7, Headers: []*sarama.RecordHeader{{Key: []byte(eventlog.HeaderTraceParent), Value: []byte(callerTP)}}},
		{Offset: 8}, // no traceparent: neither parent nor link
		{Offset: 9, Headers: []*sarama.RecordHeader{nil, {Key: []byte(eventlog.HeaderTraceParent), Value: []byte(other)}}},
	}
	ctx, done := tr.StartApply(context.Background(), "games", "oof.game.v1", 2, batch)
	if !trace.SpanFromContext(ctx).IsRecording() {
		t.Fatal("the batch's context must carry its span")
	}
	done(errors.New("deadlock"))
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	caller, _ := ParseTraceParent(callerTP)
	if s.Name() != "apply games" || s.SpanKind() != trace.SpanKindConsumer || s.Parent().SpanID() != caller.SpanID() {
		t.Fatalf("span %q kind %v parent %v", s.Name(), s.SpanKind(), s.Parent())
	}
	if len(s.Links()) != 1 || FormatTraceParent(s.Links()[0].SpanContext)[:52] != other[:52] {
		t.Fatalf("links %+v, want the third record's", s.Links())
	}
	if s.Status().Code.String() != "Error" {
		t.Fatal("a failed attempt's span must be an error")
	}
}

func TestServerSpanSetsTheEventsTraceParent(t *testing.T) {
	tr, rec := recording(t)
	unary, _ := tr.ServerInterceptors()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("traceparent", callerTP))
	var inHandler string
	_, err := unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/v1.api.game.GameService/CreateGame"},
		func(ctx context.Context, _ any) (any, error) {
			inHandler = eventlog.TraceParentFrom(ctx)
			return nil, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	s := rec.Ended()[0]
	caller, _ := ParseTraceParent(callerTP)
	if s.Name() != "v1.api.game.GameService/CreateGame" || s.SpanKind() != trace.SpanKindServer ||
		s.Parent().SpanID() != caller.SpanID() || s.SpanContext().TraceID() != caller.TraceID() {
		t.Fatalf("span %q kind %v parent %v", s.Name(), s.SpanKind(), s.Parent())
	}
	if inHandler != FormatTraceParent(s.SpanContext()) {
		t.Fatalf("events' traceparent %q, want the call span's %q", inHandler, FormatTraceParent(s.SpanContext()))
	}
}
