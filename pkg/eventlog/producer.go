package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Event is one fact to append to the log.
type Event struct {
	Topic   string // full topic name (prefix included)
	Key     string // aggregate id: orders events of one aggregate
	Subject string // CloudEvents subject, e.g. "user/<id>"
	Source  string // CloudEvents source, e.g. "/oof/command/auth"
	Message proto.Message
}

// Position is where an event landed.
type Position struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Producer appends events to Kafka: idempotent, acks=all.
type Producer struct {
	sp      sarama.SyncProducer
	timeout time.Duration
	now     func() time.Time

	// mu is held (read) by every send in flight and (write) by Close: a
	// send into a closed sarama producer panics ("send on closed
	// channel"), which a publish racing the server's shutdown (a presence
	// event when the last sockets close) used to hit.
	mu     sync.RWMutex
	closed bool
}

// NewProducer wraps a sarama SyncProducer built by NewSaramaConfig.
func NewProducer(sp sarama.SyncProducer, timeout time.Duration, now func() time.Time) *Producer {
	return &Producer{sp: sp, timeout: timeout, now: now}
}

// Publish appends events atomically per call only in the sense that they
// are sent in one request; events with the same key keep their order.
func (p *Producer) Publish(ctx context.Context, events ...Event) ([]Position, error) {
	msgs := make([]*sarama.ProducerMessage, 0, len(events))
	for _, ev := range events {
		m, err := p.record(ctx, ev)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	// sarama's SyncProducer takes no context. The caller's cancellation is
	// deliberately ignored: giving up on a send that may still land would let
	// the caller roll back a change whose event is in the log. sarama's own
	// timeouts (NewSaramaConfig) end every send before p.timeout; the timer
	// is a last resort and its outcome is reported as unknown.
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil, apperr.Unavailable("event log unavailable", errors.New("producer closed"))
	}
	done := make(chan error, 1)
	go func() {
		defer p.mu.RUnlock() // when the send ends, even after Publish stopped waiting
		done <- p.sp.SendMessages(msgs)
	}()
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			var perrs sarama.ProducerErrors
			if errors.As(err, &perrs) && len(perrs) > 0 {
				err = perrs[0].Err
			}
			return nil, apperr.Unavailable("event log unavailable", fmt.Errorf("produce: %w", err))
		}
	case <-timer.C:
		return nil, apperr.Unavailable("event log unavailable", errors.New("produce timed out; outcome unknown"))
	}
	out := make([]Position, len(msgs))
	for i, m := range msgs {
		out[i] = Position{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
	}
	return out, nil
}

func (p *Producer) record(ctx context.Context, ev Event) (*sarama.ProducerMessage, error) {
	r, err := Encode(ctx, ev, p.now())
	if err != nil {
		return nil, err
	}
	return r.Message(), nil
}

// Close waits for the sends in flight (sarama's timeouts bound them), then
// flushes and closes the underlying producer; later Publishes fail
// UNAVAILABLE.
func (p *Producer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.sp.Close()
}
