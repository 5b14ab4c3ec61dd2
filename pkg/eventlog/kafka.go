package eventlog

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
)

// sarama records its client metrics (request rates and size histograms)
// through go-metrics by default. Nothing reads them here, and keeping the
// histograms costs a few percent of the CPU of every produce and fetch.
func init() { metrics.UseNilMetrics = true }

// Options are the Kafka client settings shared by producers and consumers.
type Options struct {
	Brokers  []string
	Version  string
	ClientID string
	// ProduceTimeout bounds one produce, retries included.
	ProduceTimeout time.Duration
}

// NewSaramaConfig returns the platform's client config: an idempotent
// producer that waits for all in-sync replicas, and consumers that start from
// the oldest record (projectors keep their own offsets in PostgreSQL).
func NewSaramaConfig(o Options) (*sarama.Config, error) {
	v, err := sarama.ParseKafkaVersion(o.Version)
	if err != nil {
		return nil, fmt.Errorf("kafka version: %w", err)
	}
	if o.ProduceTimeout <= 0 {
		o.ProduceTimeout = 10 * time.Second
	}
	c := sarama.NewConfig()
	c.Version = v
	c.ClientID = o.ClientID
	// Every send must end (delivered or failed) before Publish stops
	// waiting at ProduceTimeout: 3 attempts of at most a quarter each.
	c.Net.DialTimeout = o.ProduceTimeout / 4
	c.Net.ReadTimeout = o.ProduceTimeout / 4
	c.Net.WriteTimeout = o.ProduceTimeout / 4
	c.Metadata.Retry.Max = 3
	c.Metadata.Retry.Backoff = 200 * time.Millisecond

	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1 // required by the idempotent producer
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = 2
	c.Producer.Retry.Backoff = 100 * time.Millisecond
	c.Producer.Timeout = o.ProduceTimeout / 4
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Producer.Compression = sarama.CompressionNone

	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = true
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	c.Consumer.MaxWaitTime = 100 * time.Millisecond
	c.Consumer.Return.Errors = true
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	return c, nil
}

// TopicSpec describes a topic the platform owns.
type TopicSpec struct {
	Name       string
	Partitions int32
	// Compact keeps only the newest record per key (for state topics).
	Compact bool
	// Retention is how long records are kept; 0 keeps them forever
	// (retention.ms=-1), as the topics that are the log of record must.
	Retention time.Duration
}

// retentionMs is the topic's retention.ms value.
func (s TopicSpec) retentionMs() string {
	if s.Retention <= 0 {
		return "-1" // the log is the source of truth: keep it
	}
	return strconv.FormatInt(s.Retention.Milliseconds(), 10)
}

// EnsureTopics creates missing topics, and sets retention.ms on existing
// ones whose value differs from their spec's (a changed
// OOF_LIVE_RETENTION takes effect at the next start; other settings of an
// existing topic are left as they are).
func EnsureTopics(admin sarama.ClusterAdmin, replication int16, specs []TopicSpec) error {
	existing, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	for _, s := range specs {
		if _, ok := existing[s.Name]; ok {
			if err := ensureRetention(admin, s); err != nil {
				return err
			}
			continue
		}
		cleanup := "delete"
		if s.Compact {
			cleanup = "compact"
		}
		retention := s.retentionMs()
		detail := &sarama.TopicDetail{
			NumPartitions:     s.Partitions,
			ReplicationFactor: replication,
			ConfigEntries: map[string]*string{
				"cleanup.policy": &cleanup,
				"retention.ms":   &retention,
			},
		}
		if err := createTopic(admin, s.Name, detail); err != nil {
			return err
		}
	}
	return nil
}

// createAttempts bounds how often a topic's creation is tried. A broker
// under load can take longer than the client's read timeout to create one
// (the controller writes its metadata and the partitions' logs): the
// request then times out on our side though it may well have succeeded,
// and a start-up must not fail for that.
const createAttempts = 5

// createTopic creates a topic, trying again after a failure; a topic that
// already exists (made by an earlier attempt or another process) is done.
func createTopic(admin sarama.ClusterAdmin, name string, detail *sarama.TopicDetail) error {
	var err error
	for attempt := 1; attempt <= createAttempts; attempt++ {
		err = admin.CreateTopic(name, detail, false)
		if err == nil || alreadyExists(err) {
			return nil
		}
		if attempt < createAttempts {
			time.Sleep(time.Duration(attempt) * createRetryPause)
		}
	}
	return fmt.Errorf("create topic %s (%d attempts): %w", name, createAttempts, err)
}

// createRetryPause is the first pause between attempts (it grows linearly).
var createRetryPause = 500 * time.Millisecond

func alreadyExists(err error) bool {
	var terr *sarama.TopicError
	return errors.Is(err, sarama.ErrTopicAlreadyExists) || (errors.As(err, &terr) && terr.Err == sarama.ErrTopicAlreadyExists)
}

// ensureRetention sets an existing topic's retention.ms to its spec's when
// it differs (one describe per topic at start; an alter only on change).
func ensureRetention(admin sarama.ClusterAdmin, s TopicSpec) error {
	want := s.retentionMs()
	got, err := TopicConfig(admin, s.Name, "retention.ms")
	if err != nil {
		return err
	}
	if got == want {
		return nil
	}
	err = admin.IncrementalAlterConfig(sarama.TopicResource, s.Name, map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &want},
	}, false)
	if err != nil {
		return fmt.Errorf("set retention.ms of %s to %s: %w", s.Name, want, err)
	}
	return nil
}

// TopicConfig reads one setting of a topic ("" when the broker has none).
func TopicConfig(admin sarama.ClusterAdmin, topic, name string) (string, error) {
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{name}})
	if err != nil {
		return "", fmt.Errorf("describe %s of %s: %w", name, topic, err)
	}
	for _, e := range entries {
		if e.Name == name {
			return e.Value, nil
		}
	}
	return "", nil
}
