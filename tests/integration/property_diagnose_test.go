package integration

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/projection"
	gamesprojector "github.com/oof-gg/platform/projector/games"
	playersprojector "github.com/oof-gg/platform/projector/players"
	sessionsprojector "github.com/oof-gg/platform/projector/sessions"
	usersprojector "github.com/oof-gg/platform/projector/users"
	"github.com/oof-gg/platform/tests/harness"
)

// diagnoseStall says what a stalled projector is stuck on: the event at its
// next offset and, for the projectors that only write PostgreSQL, the error
// applying it gives (in a transaction that is rolled back), so a failure
// names its cause rather than only a lag.
func diagnoseStall(ctx context.Context, e *harness.Env, l partitionLag) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := kafkaRecordAt(ctx, e, l.topic, l.partition, l.next)
	if err != nil {
		return "the stuck record could not be read: " + err.Error()
	}
	env, err := eventlog.FromRecord(m)
	if err != nil {
		return "the stuck record has no envelope: " + err.Error()
	}
	msg, err := env.Decode()
	if err != nil {
		return "the stuck record does not decode: " + err.Error()
	}
	text := prototext.Format(msg)
	if len(text) > 1500 {
		text = text[:1500] + "…"
	}
	out := fmt.Sprintf("stuck on %s at offset %d: %s", env.Type, l.next, text)
	var proj projection.Projector
	switch l.projector {
	case gamesprojector.Name:
		proj = gamesprojector.New(l.topic)
	case sessionsprojector.Name:
		proj = sessionsprojector.New(l.topic)
	case playersprojector.Name:
		proj = playersprojector.New(l.topic, personal.NewKeys(e.Pool, nil))
	case usersprojector.Name:
		proj = usersprojector.New(l.topic, personal.NewKeys(e.Pool, nil))
	default:
		return out // it also writes Redis: not applied here
	}
	tx, err := e.Pool.Begin(ctx)
	if err != nil {
		return out
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if err := proj.Apply(ctx, tx, env, msg); err != nil {
		return out + "\napplying it fails: " + err.Error()
	}
	return out + "\n(applying it alone succeeds)"
}

// kafkaRecordAt reads the one record at topic/partition@offset.
func kafkaRecordAt(ctx context.Context, e *harness.Env, topic string, partition int32, offset int64) (*sarama.ConsumerMessage, error) {
	c, err := sarama.NewConsumerFromClient(e.Kafka)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, partition, offset)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
