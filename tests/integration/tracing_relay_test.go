package integration

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/tracing"
	"github.com/oof-gg/platform/tests/harness"
)

// An event committed to the outbox and sent later by a relay (here one
// that starts only after the commit, as after a crash) keeps its trace: the
// traceparent is stored with the outbox row (among its CloudEvents
// headers), and the relay's send span is its child and replaces it on the
// record, so consumers continue from the send.
func TestRelayedEventKeepsItsTrace(t *testing.T) {
	rcv, endpoint := startOTLPReceiver(t)
	in, err := harness.InfraFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tenv, err := harness.New(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer tenv.Stop()
	if err := platform.Prepare(ctx, tenv.Cfg, tenv.Log); err != nil {
		t.Fatal(err)
	}
	tracer, err := tracing.New(ctx, tracing.Config{Endpoint: endpoint, SampleRatio: 1, Target: "test"}, tenv.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tracer.Shutdown(context.Background()) }()

	// Committed with no relay in this process: the row waits in the outbox.
	const traceID, callerSpan = "6bf92f3577b34da6a3ce929d0e0e4736", "20f067aa0ba902b7"
	callerTP := "00-" + traceID + "-" + callerSpan + "-01"
	topic := tenv.Cfg.Topic("oof.game.v1")
	gameID := harness.RandomID(8)
	st, err := outbox.New(tenv.Pool, nil, time.Now).Publish(eventlog.WithTraceParent(ctx, callerTP),
		eventlog.Event{Topic: topic, Key: gameID, Subject: "game/" + gameID, Source: "/oof/test",
			Message: &eventspb.GameCreated{OwnerId: gameID, Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := tenv.Pool.QueryRow(ctx, `SELECT convert_from(header_values[array_position(header_keys, 'traceparent')], 'UTF8')
		FROM event_outbox WHERE seq = $1`, st.Seqs[0]).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != callerTP {
		t.Fatalf("outbox row traceparent %q, want %q", stored, callerTP)
	}

	// A relay starts afterwards and sends it through a traced producer.
	connect := func() (sarama.SyncProducer, error) {
		sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: tenv.Cfg.KafkaBrokers, Version: tenv.Cfg.KafkaVersion,
			ClientID: "oof-test-relay", ProduceTimeout: 5 * time.Second})
		if err != nil {
			return nil, err
		}
		sp, err := sarama.NewSyncProducer(tenv.Cfg.KafkaBrokers, sc)
		if err != nil {
			return nil, err
		}
		return tracer.WrapProducer(sp), nil
	}
	relay := outbox.NewRelay(tenv.Pool, connect, tenv.Log, outbox.RelayOptions{Registerer: prometheus.NewRegistry()})
	relayCtx, stopRelay := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = relay.Run(relayCtx); close(done) }()
	defer func() { stopRelay(); <-done }()
	relay.Kick()
	pos, err := outbox.New(tenv.Pool, relay, time.Now).Positions(ctx, st)
	if err != nil {
		t.Fatal(err)
	}

	consumer, err := sarama.NewConsumerFromClient(tenv.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, pos[0].Partition, pos[0].Offset)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var onLog string
	select {
	case m := <-pc.Messages():
		onLog = header(m, eventlog.HeaderTraceParent)
	case <-ctx.Done():
		t.Fatal("the relayed record did not arrive")
	}
	sendSC, ok := tracing.ParseTraceParent(onLog)
	if !ok || sendSC.TraceID().String() != traceID || sendSC.SpanID().String() == callerSpan {
		t.Fatalf("record traceparent %q: want the caller's trace with the send span's id", onLog)
	}

	if err := tracer.Shutdown(ctx); err != nil { // flush
		t.Fatal(err)
	}
	for _, s := range rcv.trace(traceID) {
		if hex.EncodeToString(s.GetSpanId()) == sendSC.SpanID().String() {
			if s.GetName() != "send "+topic || hex.EncodeToString(s.GetParentSpanId()) != callerSpan {
				t.Fatalf("send span %q has parent %x, want %s", s.GetName(), s.GetParentSpanId(), callerSpan)
			}
			return
		}
	}
	t.Fatalf("no send span %s received", sendSC.SpanID())
}
