// Package ops holds the operators' reads (docs/operations.md): the
// platform's status (consumer lag, dead letters, relay backlog) and the
// decoding of topics for `oof tail`. The `oof` CLI and oof.ops.v1 call the
// same functions.
package ops

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/projection"
)

// Consumer is one projector as status sees it: the topics it reads and
// where it keeps its offsets (PostgreSQL, or Redis for the live events).
type Consumer struct {
	Name    string
	Topics  []string
	Offsets projection.OffsetStore
}

// Lag is one projector's position in one partition.
type Lag struct {
	Projector, Topic string
	Partition        int32
	Stored           int64 // next offset to apply (0: none applied)
	End              int64 // high-water mark; -1 when Kafka did not answer
	Lag              int64 // End - Stored; -1 when unknown
}

// Status is a snapshot of the platform's backlog.
type Status struct {
	Lag         []Lag
	DeadLetters map[string]int64 // projector → open dead letters (every projector listed)
	Pending     int64            // outbox rows not yet on Kafka
	OldestAge   time.Duration    // age of the oldest of them
	KafkaError  string           // why End is unknown, if it is
}

// Statuser computes Status. Kafka opens a client for the call (operators
// ask rarely; a process that serves ops keeps no idle Kafka connection).
type Statuser struct {
	Pool      *pgxpool.Pool
	Consumers []Consumer
	Kafka     func() (sarama.Client, error)
	Now       func() time.Time
}

// Status reads stored offsets, the topics' end offsets, the open dead
// letters and the outbox backlog. Kafka being away is reported in the
// result, not as a failure: that is when operators need the rest.
func (s *Statuser) Status(ctx context.Context) (Status, error) {
	st := Status{DeadLetters: map[string]int64{}}
	ends, kerr := s.endOffsets(s.topics())
	if kerr != nil {
		st.KafkaError = kerr.Error()
	}
	for _, c := range s.Consumers {
		st.DeadLetters[c.Name] = 0
		for _, topic := range c.Topics {
			parts := ends[topic]
			if parts == nil {
				parts = map[int32]int64{}
			}
			stored, err := s.storedPartitions(ctx, c.Name, topic)
			if err != nil {
				return Status{}, err
			}
			for _, p := range stored {
				if _, ok := parts[p]; !ok {
					parts[p] = -1
				}
			}
			for _, p := range sortedKeys(parts) {
				next, _, err := c.Offsets.Load(ctx, c.Name, topic, p)
				if err != nil {
					return Status{}, apperr.Unavailable("offsets unavailable", err)
				}
				l := Lag{Projector: c.Name, Topic: topic, Partition: p, Stored: next, End: parts[p], Lag: -1}
				if l.End >= 0 {
					l.Lag = max(l.End-l.Stored, 0)
				}
				st.Lag = append(st.Lag, l)
			}
		}
	}
	if err := s.deadLetters(ctx, st.DeadLetters); err != nil {
		return Status{}, err
	}
	var oldest *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM event_outbox WHERE published_at IS NULL`).
		Scan(&st.Pending, &oldest); err != nil {
		return Status{}, apperr.Unavailable("outbox unavailable", err)
	}
	if oldest != nil {
		st.OldestAge = max(s.Now().Sub(*oldest), 0)
	}
	return st, nil
}

func (s *Statuser) topics() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range s.Consumers {
		for _, t := range c.Topics {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// endOffsets asks Kafka for every partition's high-water mark.
func (s *Statuser) endOffsets(topics []string) (map[string]map[int32]int64, error) {
	out := map[string]map[int32]int64{}
	client, err := s.Kafka()
	if err != nil {
		return out, fmt.Errorf("kafka unreachable: %w", err)
	}
	defer client.Close()
	for _, t := range topics {
		parts, err := client.Partitions(t)
		if err != nil {
			return out, fmt.Errorf("topic %s: %w", t, err)
		}
		out[t] = map[int32]int64{}
		for _, p := range parts {
			end, err := client.GetOffset(t, p, sarama.OffsetNewest)
			if err != nil {
				return out, fmt.Errorf("topic %s partition %d: %w", t, p, err)
			}
			out[t][p] = end
		}
	}
	return out, nil
}

// storedPartitions lists the partitions projector_offsets knows for a
// projector and topic, so lag rows exist even while Kafka is away.
func (s *Statuser) storedPartitions(ctx context.Context, projector, topic string) ([]int32, error) {
	rows, err := s.Pool.Query(ctx, `SELECT partition FROM projector_offsets WHERE projector = $1 AND topic = $2`, projector, topic)
	if err != nil {
		return nil, apperr.Unavailable("offsets unavailable", err)
	}
	var parts []int32
	for rows.Next() {
		var p int32
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, apperr.Unavailable("offsets unavailable", err)
		}
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Unavailable("offsets unavailable", err)
	}
	return parts, nil
}

func (s *Statuser) deadLetters(ctx context.Context, into map[string]int64) error {
	rows, err := s.Pool.Query(ctx, `SELECT projector, count(*) FROM projector_dead_letters WHERE status = 'dead' GROUP BY projector`)
	if err != nil {
		return apperr.Unavailable("dead letters unavailable", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return apperr.Unavailable("dead letters unavailable", err)
		}
		into[name] = n
	}
	return rows.Err()
}

func sortedKeys(m map[int32]int64) []int32 {
	out := make([]int32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
