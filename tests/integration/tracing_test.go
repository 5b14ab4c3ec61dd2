package integration

import (
	"context"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/tests/harness"
)

// otlpReceiver is an OTLP/gRPC trace collector on loopback that keeps every
// span it is sent.
type otlpReceiver struct {
	collectorpb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (r *otlpReceiver) Export(_ context.Context, req *collectorpb.ExportTraceServiceRequest) (*collectorpb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	return &collectorpb.ExportTraceServiceResponse{}, nil
}

// trace returns the spans received so far of one trace.
func (r *otlpReceiver) trace(traceID string) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans {
		if hex.EncodeToString(s.GetTraceId()) == traceID {
			out = append(out, s)
		}
	}
	return out
}

func startOTLPReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{}
	srv := grpc.NewServer()
	collectorpb.RegisterTraceServiceServer(srv, r)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return r, lis.Addr().String()
}

// spanChain is what TestTraceSpansCallKafkaAndProjector looks for in one
// trace.
type spanChain struct{ server, send, apply, applySQL, serverSQL *tracepb.Span }

func findChain(spans []*tracepb.Span, gameTopic string) spanChain {
	var c spanChain
	byParent := map[string][]*tracepb.Span{}
	for _, s := range spans {
		byParent[string(s.GetParentSpanId())] = append(byParent[string(s.GetParentSpanId())], s)
	}
	for _, s := range spans {
		if s.GetName() == "v1.api.common.GameService/CreateGame" && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
			c.server = s
		}
	}
	if c.server == nil {
		return c
	}
	for _, s := range byParent[string(c.server.GetSpanId())] {
		switch {
		case s.GetName() == "send "+gameTopic && s.GetKind() == tracepb.Span_SPAN_KIND_PRODUCER:
			c.send = s
		case s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && attr(s, "db.system.name") == "postgresql":
			c.serverSQL = s
		}
	}
	if c.send == nil {
		return c
	}
	for _, s := range byParent[string(c.send.GetSpanId())] {
		if s.GetName() == "apply games" && s.GetKind() == tracepb.Span_SPAN_KIND_CONSUMER {
			c.apply = s
		}
	}
	if c.apply == nil {
		return c
	}
	for _, s := range byParent[string(c.apply.GetSpanId())] {
		if s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && attr(s, "db.system.name") == "postgresql" {
			c.applySQL = s
		}
	}
	return c
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// One trace covers a command from the call to the read model: the call's
// SERVER span (the child of the caller's traceparent), the relay's
// PRODUCER span that sent its event (the child of the call, through the
// traceparent stored with the outbox row), the games projector's CONSUMER
// span that applied it (the child of the send, through the record's
// traceparent header), and PostgreSQL spans under the call and the apply.
func TestTraceSpansCallKafkaAndProjector(t *testing.T) {
	// Export every 100ms instead of every 5s, so the test does not wait.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	rcv, endpoint := startOTLPReceiver(t)
	in, err := harness.InfraFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tenv, err := harness.Start(ctx, in, func(c *config.Config) { c.Tracing.OTLPEndpoint = endpoint })
	if err != nil {
		t.Fatalf("start a traced platform: %v", err)
	}
	defer tenv.Stop()

	auth := authpb.NewAuthServiceClient(tenv.Conn)
	name := uniqueName("tr")
	reg, err := auth.Register(ctx, &authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenv.Pool.Exec(ctx, `UPDATE auth_accounts SET role = 'developer' WHERE user_id = $1`, reg.GetUserId()); err != nil {
		t.Fatal(err)
	}
	login, err := auth.Login(ctx, &authpb.LoginRequest{Username: name, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}

	const traceID = "5bf92f3577b34da6a3ce929d0e0e4736"
	const callerSpan = "10f067aa0ba902b7"
	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+login.GetAccessToken(),
		"traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	if _, err := commonpb.NewGameServiceClient(tenv.Conn).CreateGame(callCtx,
		&gamepb.GameCreateRequest{Name: "Traced " + name}); err != nil {
		t.Fatalf("create game: %v", err)
	}

	gameTopic := tenv.Cfg.Topic("oof.game.v1")
	var c spanChain
	deadline := time.Now().Add(30 * time.Second)
	for {
		c = findChain(rcv.trace(traceID), gameTopic)
		if c.applySQL != nil && c.serverSQL != nil {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range rcv.trace(traceID) {
				names = append(names, s.GetName()+"/"+s.GetKind().String())
			}
			t.Fatalf("trace %s incomplete (server %v, send %v, apply %v, apply sql %v, call sql %v); spans: %s",
				traceID, c.server != nil, c.send != nil, c.apply != nil, c.applySQL != nil, c.serverSQL != nil,
				strings.Join(names, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := hex.EncodeToString(c.server.GetParentSpanId()); got != callerSpan {
		t.Fatalf("the call's span has parent %s, want the caller's span %s", got, callerSpan)
	}
	if attr(c.send, "messaging.destination.name") != gameTopic || attr(c.send, "messaging.system") != "kafka" {
		t.Fatalf("send span attributes: %v", c.send.GetAttributes())
	}
	if attr(c.apply, "oof.projector") != "games" || attr(c.apply, "messaging.destination.name") != gameTopic {
		t.Fatalf("apply span attributes: %v", c.apply.GetAttributes())
	}
	// Register (sent without a traceparent: a trace of its own) checks its
	// rate limit in Redis: a Redis span under the call's.
	if !rcv.hasChild("v1.api.auth.AuthService/Register", "redis") {
		t.Fatal("no Redis span under the Register call's span")
	}
}

// hasChild reports whether a span named parent has a CLIENT child of the
// database system db.
func (r *otlpReceiver) hasChild(parent, db string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	parents := map[string]bool{}
	for _, s := range r.spans {
		if s.GetName() == parent {
			parents[string(s.GetSpanId())] = true
		}
	}
	for _, s := range r.spans {
		if parents[string(s.GetParentSpanId())] && s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && attr(s, "db.system.name") == db {
			return true
		}
	}
	return false
}
