package tracing

import (
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/types/known/emptypb"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type emptyEvent = emptypb.Empty

// fakeProducer stands in for sarama's producer in unit tests of the
// wrapper (the integration test sends to the real Kafka). fail fails the
// messages at those positions.
type fakeProducer struct {
	sarama.SyncProducer
	sent []*sarama.ProducerMessage
	fail map[int]error
}

func (f *fakeProducer) SendMessages(msgs []*sarama.ProducerMessage) error {
	var errs sarama.ProducerErrors
	for i, m := range msgs {
		if err, ok := f.fail[i]; ok {
			errs = append(errs, &sarama.ProducerError{Msg: m, Err: err})
			continue
		}
		m.Partition, m.Offset = 1, int64(len(f.sent))
		f.sent = append(f.sent, m)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
