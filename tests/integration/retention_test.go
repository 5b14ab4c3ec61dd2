package integration

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/eventlog"
)

// Core topics keep their records forever; oof.live.v1 keeps them for
// OOF_LIVE_RETENTION, set when the topic is created and again at a start
// whose setting differs (and a core topic changed by hand is put back).
func TestTopicRetention(t *testing.T) {
	ctx := testCtx(t)
	admin, err := sarama.NewClusterAdminFromClient(env.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	cfg := env.Cfg
	// Topics of their own (under the env's prefix, so they are deleted with it).
	cfg.KafkaTopicPrefix = env.Cfg.KafkaTopicPrefix + "ret."
	cfg.Live.Retention = 3 * time.Hour
	retention := func(topic string) string {
		t.Helper()
		// A topic just created may not be known to every part of the broker
		// yet (UNKNOWN_TOPIC_OR_PARTITION for a moment): ask again briefly.
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, err := eventlog.TopicConfig(admin, cfg.Topic(topic), "retention.ms")
			if err == nil {
				return v
			}
			unknown := errors.Is(err, sarama.ErrUnknownTopicOrPartition) || strings.Contains(err.Error(), "does not exist")
			if !unknown || time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	core := []string{platform.TopicUser, platform.TopicGame, platform.TopicSession, platform.TopicEntity, platform.TopicPlayer}

	if err := platform.Prepare(ctx, cfg, env.Log); err != nil {
		t.Fatal(err)
	}
	for _, topic := range core {
		if got := retention(topic); got != "-1" {
			t.Errorf("created %s: retention.ms = %s, want -1", topic, got)
		}
	}
	if got := retention(platform.TopicLive); got != ms(3*time.Hour) {
		t.Errorf("created %s: retention.ms = %s, want %s", platform.TopicLive, got, ms(3*time.Hour))
	}

	// Someone shortened a core topic's retention by hand; the live one's
	// setting changes.
	hand := "60000"
	if err := admin.IncrementalAlterConfig(sarama.TopicResource, cfg.Topic(platform.TopicSession),
		map[string]sarama.IncrementalAlterConfigsEntry{"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &hand}}, false); err != nil {
		t.Fatal(err)
	}
	cfg.Live.Retention = 36 * time.Hour
	if err := platform.Prepare(ctx, cfg, env.Log); err != nil {
		t.Fatal(err)
	}
	if got := retention(platform.TopicSession); got != "-1" {
		t.Errorf("after restart %s: retention.ms = %s, want -1 again", platform.TopicSession, got)
	}
	if got := retention(platform.TopicLive); got != ms(36*time.Hour) {
		t.Errorf("after restart %s: retention.ms = %s, want %s", platform.TopicLive, got, ms(36*time.Hour))
	}
	// The shared platform's own topics: the default, 7 days.
	if v, err := eventlog.TopicConfig(admin, env.Cfg.Topic(platform.TopicLive), "retention.ms"); err != nil || v != ms(7*24*time.Hour) {
		t.Errorf("default live retention.ms = %q (%v), want %s", v, err, ms(7*24*time.Hour))
	}
}
