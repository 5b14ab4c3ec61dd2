package ops

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/encoding/protojson"

	// Every event type of the platform, for decoding by ce_type.
	_ "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/personal"
)

// TailLine is one record as `oof tail` prints it (a JSON line): where it
// is, its CloudEvents headers as they are on the record, and the event
// decoded by ce_type from the protobuf registry (protojson), or the raw
// payload with the reason when it cannot be decoded.
type TailLine struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp time.Time         `json:"timestamp"`
	Key       string            `json:"key"`
	Headers   map[string]string `json:"headers"`
	Type      string            `json:"type"`
	Data      json.RawMessage   `json:"data,omitempty"`
	Raw       []byte            `json:"raw,omitempty"` // base64 in JSON
	Error     string            `json:"error,omitempty"`
	// Personal fields of the event and their state (personal.StateOpen,
	// StateErased, ...) when it was decoded with the personal-data keys
	// (DecodeRevealed): sealed fields are then shown opened in data, or
	// "" when erased (docs/events.md, "Personal data").
	Personal map[string]string `json:"personal,omitempty"`
}

// DecodeRecord turns a consumed record into its TailLine; sealed personal
// fields stay sealed (base64 in data).
func DecodeRecord(m *sarama.ConsumerMessage) TailLine {
	return DecodeRevealed(context.Background(), m, nil)
}

// DecodeRevealed is DecodeRecord with the personal fields revealed by keys
// as the projectors show them: opened while the subject's key lives, ""
// once erased. A failure to read the keys is reported in Error, with the
// event left sealed.
func DecodeRevealed(ctx context.Context, m *sarama.ConsumerMessage, keys *personal.Keys) TailLine {
	l := TailLine{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp.UTC(),
		Key: string(m.Key), Headers: map[string]string{}}
	for _, h := range m.Headers {
		if h != nil {
			l.Headers[string(h.Key)] = string(h.Value)
		}
	}
	env, err := eventlog.FromRecord(m)
	l.Type = env.Type
	if err != nil {
		l.Raw, l.Error = m.Value, err.Error()
		return l
	}
	msg, err := env.Decode()
	if err != nil {
		l.Raw, l.Error = m.Value, err.Error()
		return l
	}
	if keys != nil {
		if l.Personal, err = keys.Reveal(ctx, msg); err != nil {
			l.Error = err.Error()
		}
	}
	data, err := protojson.Marshal(msg)
	if err != nil {
		l.Raw, l.Error = m.Value, err.Error()
		return l
	}
	l.Data = data
	return l
}

// TypeFilter matches ce_type against names given in full
// (oof.events.v1.UserRegistered) or short (UserRegistered); empty matches
// everything.
type TypeFilter []string

// Match reports whether ceType passes.
func (f TypeFilter) Match(ceType string) bool {
	if len(f) == 0 {
		return true
	}
	short := ceType[strings.LastIndexByte(ceType, '.')+1:]
	for _, want := range f {
		if want == ceType || want == short {
			return true
		}
	}
	return false
}
