package eventlog

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Record is an event encoded exactly as it goes on the log: its CloudEvents
// id and time are fixed when it is encoded, so a record sent twice (a relay
// retrying after a crash) is the same record twice, never two events.
type Record struct {
	Topic   string
	Key     string
	ID      string // ce_id, a UUIDv7
	Headers []sarama.RecordHeader
	Payload []byte
}

// Encode turns an event into the record that carries it: protobuf payload
// and CloudEvents binary-mode headers (with the caller's traceparent).
func Encode(ctx context.Context, ev Event, now time.Time) (Record, error) {
	if ev.Topic == "" || ev.Key == "" || ev.Message == nil {
		return Record{}, apperr.Internal("bad event", fmt.Errorf("event needs topic, key and message: %+v", ev))
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(ev.Message)
	if err != nil {
		return Record{}, apperr.Internal("encode event", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Record{}, apperr.Internal("event id", err)
	}
	headers := []sarama.RecordHeader{
		{Key: []byte(HeaderSpecVersion), Value: []byte(specVersion)},
		{Key: []byte(HeaderID), Value: []byte(id.String())},
		{Key: []byte(HeaderSource), Value: []byte(ev.Source)},
		{Key: []byte(HeaderType), Value: []byte(ev.Message.ProtoReflect().Descriptor().FullName())},
		{Key: []byte(HeaderTime), Value: []byte(now.UTC().Format(time.RFC3339Nano))},
		{Key: []byte(HeaderContentType), Value: []byte(ContentTypeProtobuf)},
	}
	if ev.Subject != "" {
		headers = append(headers, sarama.RecordHeader{Key: []byte(HeaderSubject), Value: []byte(ev.Subject)})
	}
	if tp := TraceParentFrom(ctx); tp != "" {
		headers = append(headers, sarama.RecordHeader{Key: []byte(HeaderTraceParent), Value: []byte(tp)})
	}
	return Record{Topic: ev.Topic, Key: ev.Key, ID: id.String(), Headers: headers, Payload: payload}, nil
}

// Message is the record as a sarama message to produce.
func (r Record) Message() *sarama.ProducerMessage {
	return &sarama.ProducerMessage{
		Topic:   r.Topic,
		Key:     sarama.StringEncoder(r.Key),
		Value:   sarama.ByteEncoder(r.Payload),
		Headers: r.Headers,
	}
}
