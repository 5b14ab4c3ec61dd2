package tracing

import (
	"context"
	"errors"
	"strconv"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/oof-gg/platform/pkg/eventlog"
)

// WrapProducer returns a producer that makes a PRODUCER span of every
// record it sends (see sendSpans); sp itself on a nil Tracer. Wrapping the
// producer, not its callers, keeps the outbox relay and the direct
// producer unchanged and free of tracing.
func (t *Tracer) WrapProducer(sp sarama.SyncProducer) sarama.SyncProducer {
	if t == nil {
		return sp
	}
	return &tracedProducer{SyncProducer: sp, t: t}
}

type tracedProducer struct {
	sarama.SyncProducer
	t *Tracer
}

func (p *tracedProducer) SendMessage(msg *sarama.ProducerMessage) (int32, int64, error) {
	spans := p.t.sendSpans([]*sarama.ProducerMessage{msg})
	part, off, err := p.SyncProducer.SendMessage(msg)
	endSend(spans[0], msg, err)
	return part, off, err
}

func (p *tracedProducer) SendMessages(msgs []*sarama.ProducerMessage) error {
	spans := p.t.sendSpans(msgs)
	err := p.SyncProducer.SendMessages(msgs)
	// sarama names the failed messages; an error that names none failed
	// them all.
	var perrs sarama.ProducerErrors
	failed := map[*sarama.ProducerMessage]error{}
	if errors.As(err, &perrs) && len(perrs) > 0 {
		for _, pe := range perrs {
			failed[pe.Msg] = pe.Err
		}
	}
	for i, m := range msgs {
		merr := failed[m]
		if err != nil && len(failed) == 0 {
			merr = err
		}
		endSend(spans[i], m, merr)
	}
	return err
}

// sendSpans starts a "send <topic>" span per record: the child of the
// traceparent the record carries (the call that wrote it, stored with its
// outbox row), or a new trace for a record written outside any call. The
// record's traceparent is then pointed at the send span, so a projector's
// span is the send's child: call → send → apply.
func (t *Tracer) sendSpans(msgs []*sarama.ProducerMessage) []trace.Span {
	spans := make([]trace.Span, len(msgs))
	for i, m := range msgs {
		ctx := context.Background()
		tp := headerIndex(m.Headers, eventlog.HeaderTraceParent)
		if tp >= 0 {
			if sc, ok := ParseTraceParent(string(m.Headers[tp].Value)); ok {
				ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
			}
		}
		attrs := []attribute.KeyValue{
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", m.Topic),
		}
		if id := headerIndex(m.Headers, eventlog.HeaderID); id >= 0 {
			attrs = append(attrs, attribute.String("messaging.message.id", string(m.Headers[id].Value)))
		}
		if typ := headerIndex(m.Headers, eventlog.HeaderType); typ >= 0 {
			attrs = append(attrs, attribute.String("cloudevents.event_type", string(m.Headers[typ].Value)))
		}
		if m.Key != nil {
			if key, err := m.Key.Encode(); err == nil {
				attrs = append(attrs, attribute.String("messaging.kafka.message.key", string(key)))
			}
		}
		_, span := t.tracer.Start(ctx, "send "+m.Topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
		spans[i] = span
		header := []byte(FormatTraceParent(span.SpanContext()))
		if tp >= 0 {
			// A fresh header slice: the old one may be shared (an outbox
			// row's scanned values) and must not change under its owner.
			hs := make([]sarama.RecordHeader, len(m.Headers))
			copy(hs, m.Headers)
			hs[tp].Value = header
			m.Headers = hs
		} else {
			m.Headers = append(m.Headers[:len(m.Headers):len(m.Headers)],
				sarama.RecordHeader{Key: []byte(eventlog.HeaderTraceParent), Value: header})
		}
	}
	return spans
}

func endSend(span trace.Span, m *sarama.ProducerMessage, err error) {
	if err == nil {
		span.SetAttributes(
			attribute.String("messaging.destination.partition.id", strconv.Itoa(int(m.Partition))),
			attribute.Int64("messaging.kafka.offset", m.Offset),
		)
	}
	end(span, err)
}

func headerIndex(hs []sarama.RecordHeader, key string) int {
	for i, h := range hs {
		if string(h.Key) == key {
			return i
		}
	}
	return -1
}

// StartApply starts the CONSUMER span "apply <projector>" of one batch a
// projector applies in one transaction (projection.WithTrace): the child of the first record's
// traceparent (its send span), linked to every other record's. Its context
// makes the transaction's PostgreSQL statements and the batch's Redis
// commands its children. The returned function ends it with the batch's
// outcome.
func (t *Tracer) StartApply(ctx context.Context, projector, topic string, partition int32, batch []*sarama.ConsumerMessage) (context.Context, func(error)) {
	var parent trace.SpanContext
	var links []trace.Link
	for _, m := range batch {
		for _, h := range m.Headers {
			if h == nil || string(h.Key) != eventlog.HeaderTraceParent {
				continue
			}
			if sc, ok := ParseTraceParent(string(h.Value)); ok {
				if !parent.IsValid() {
					parent = sc
				} else {
					links = append(links, trace.Link{SpanContext: sc})
				}
			}
			break
		}
	}
	// The runner's context carries no span: without a traceparent the
	// batch is a trace of its own.
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	attrs := []attribute.KeyValue{
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", topic),
		attribute.String("messaging.destination.partition.id", strconv.Itoa(int(partition))),
		attribute.Int("messaging.batch.message_count", len(batch)),
		attribute.String("oof.projector", projector),
	}
	if len(batch) > 0 {
		attrs = append(attrs, attribute.Int64("messaging.kafka.offset", batch[0].Offset))
	}
	ctx, span := t.tracer.Start(ctx, "apply "+projector, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrs...), trace.WithLinks(links...))
	return ctx, func(err error) { end(span, err) }
}
