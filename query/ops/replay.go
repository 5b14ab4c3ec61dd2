package ops

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/IBM/sarama"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/eventlog"
)

// ReadMatch reads exactly m's events from Kafka: for each recorded range,
// only the offsets [First, Last] of its one partition, keeping the records
// keyed by the match's session (others sharing the partition are
// skipped). The result is in time order (the events' ce_time, then the
// record timestamp), lifecycle and live events merged; within a topic the
// log order is kept for equal times.
func ReadMatch(ctx context.Context, client sarama.Client, m Match) ([]*sarama.ConsumerMessage, error) {
	ranges := []Range{m.Session}
	if m.Live != nil {
		ranges = append(ranges, *m.Live)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, apperr.Unavailable("kafka", err)
	}
	defer consumer.Close()
	var out []*sarama.ConsumerMessage
	for _, r := range ranges {
		recs, err := readRange(ctx, client, consumer, r, m.SessionID)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	// Each record's time is read once (parsing headers in the comparison
	// cost n·log n parses: seconds for a long match).
	at := make([]time.Time, len(out))
	idx := make([]int, len(out))
	for i, m := range out {
		at[i], idx[i] = EventTime(m), i
	}
	sort.SliceStable(idx, func(i, j int) bool { return at[idx[i]].Before(at[idx[j]]) })
	sorted := make([]*sarama.ConsumerMessage, len(out))
	for i, k := range idx {
		sorted[i] = out[k]
	}
	return sorted, nil
}

func readRange(ctx context.Context, client sarama.Client, consumer sarama.Consumer, r Range, sessionID string) ([]*sarama.ConsumerMessage, error) {
	oldest, err := client.GetOffset(r.Topic, r.Partition, sarama.OffsetOldest)
	if err != nil {
		return nil, apperr.Unavailable("kafka offsets", err)
	}
	if r.First < oldest {
		return nil, apperr.FailedPrecondition(fmt.Sprintf("%s/%d: offsets from %d were removed by retention (oldest is %d)",
			r.Topic, r.Partition, r.First, oldest))
	}
	pc, err := consumer.ConsumePartition(r.Topic, r.Partition, r.First)
	if err != nil {
		return nil, apperr.Unavailable("kafka consume", err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case msg := <-pc.Messages():
			if msg.Offset > r.Last {
				return out, nil
			}
			if string(msg.Key) == sessionID {
				out = append(out, msg)
			}
			if msg.Offset >= r.Last {
				return out, nil
			}
		case err := <-pc.Errors():
			return nil, apperr.Unavailable("kafka consume", err)
		}
	}
}

// EventTime is when the event happened: its ce_time, or the record's
// timestamp when the header is missing.
func EventTime(m *sarama.ConsumerMessage) time.Time {
	if env, err := eventlog.FromRecord(m); err == nil && !env.Time.IsZero() {
		return env.Time
	}
	return m.Timestamp
}
