// Package eventlog is the platform's Kafka event log: a producer that writes
// protobuf events as CloudEvents (binary mode), topic administration, and the
// envelope consumers decode records into.
package eventlog

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// CloudEvents binary-mode header names (Kafka protocol binding).
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderSource      = "ce_source"
	HeaderType        = "ce_type"
	HeaderTime        = "ce_time"
	HeaderSubject     = "ce_subject"
	HeaderContentType = "content-type"
	HeaderTraceParent = "traceparent"

	ContentTypeProtobuf = "application/protobuf"
	specVersion         = "1.0"
)

// Envelope is one consumed record with its CloudEvents metadata.
type Envelope struct {
	ID          string
	Type        string // full protobuf message name
	Source      string
	Subject     string
	Time        time.Time
	TraceParent string

	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Payload   []byte
}

// FromRecord reads the CloudEvents headers of a consumed message.
func FromRecord(m *sarama.ConsumerMessage) (Envelope, error) {
	e := Envelope{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Payload: m.Value}
	for _, h := range m.Headers {
		if h == nil {
			continue
		}
		v := string(h.Value)
		switch string(h.Key) {
		case HeaderID:
			e.ID = v
		case HeaderType:
			e.Type = v
		case HeaderSource:
			e.Source = v
		case HeaderSubject:
			e.Subject = v
		case HeaderTraceParent:
			e.TraceParent = v
		case HeaderTime:
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				e.Time = t
			}
		}
	}
	if e.Type == "" {
		return e, fmt.Errorf("record %s/%d@%d has no %s header", m.Topic, m.Partition, m.Offset, HeaderType)
	}
	return e, nil
}

// Decode unmarshals the payload into the message type named by ce_type.
func (e Envelope) Decode() (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(e.Type))
	if err != nil {
		return nil, fmt.Errorf("unknown event type %q: %w", e.Type, err)
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(e.Payload, msg); err != nil {
		return nil, fmt.Errorf("decode %s at %s/%d@%d: %w", e.Type, e.Topic, e.Partition, e.Offset, err)
	}
	return msg, nil
}

type traceParentKey struct{}

// WithTraceParent carries a W3C traceparent so events produced while handling
// a request link back to it.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	return context.WithValue(ctx, traceParentKey{}, tp)
}

// TraceParentFrom returns the traceparent carried by ctx, if any.
func TraceParentFrom(ctx context.Context) string {
	tp, _ := ctx.Value(traceParentKey{}).(string)
	return tp
}
