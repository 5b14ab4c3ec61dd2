package integration

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/tests/harness"
)

// A projector target's /metrics shows each projector's lag per partition
// (oof_projector_lag_records, as `oof status` computes it): records
// waiting while the projector is held up, 0 once it has applied them.
func TestProjectorLagGauge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e, err := harness.New(ctx, env.Infra)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if err := platform.Prepare(ctx, e.Cfg, e.Log); err != nil {
		t.Fatal(err)
	}
	topic := e.Cfg.Topic(platform.TopicSession)
	parts, err := e.Kafka.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the sessions projector back: uncommitted offset rows make its
	// first batch on each partition wait (its upsert waits for this
	// transaction), while status reads see no stored offset yet.
	hold, err := e.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback(context.WithoutCancel(ctx)) }()
	for _, p := range parts {
		if _, err := hold.Exec(ctx, `INSERT INTO projector_offsets (projector, topic, partition, next_offset) VALUES ('sessions', $1, $2, 0)`, topic, p); err != nil {
			t.Fatal(err)
		}
	}
	run, err := e.RunPlatform(ctx, e.Cfg, routing.TargetProjector)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Stop()

	// Load: sessions created, as the session command writes them.
	const n = 60
	producer, err := sarama.NewSyncProducerFromClient(e.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	var msgs []*sarama.ProducerMessage
	for range n {
		id := uuid.NewString()
		rec, err := eventlog.Encode(ctx, eventlog.Event{Topic: topic, Key: id, Subject: "session/" + id, Source: "/tests",
			Message: &eventspb.SessionCreated{Session: &gamepb.Session{Id: id, GameId: uuid.NewString(), State: gamepb.GameState_STATE_WAITING},
				HostId: uuid.NewString(), Version: 1, CreatedAt: timestamppb.Now()}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, rec.Message())
	}
	if err := producer.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}

	series := regexp.MustCompile(`(?m)^oof_projector_lag_records\{partition="(\d+)",projector="sessions",topic="` + regexp.QuoteMeta(topic) + `"\} (\S+)$`)
	lag := func() (total float64, seen int) {
		for _, m := range series.FindAllStringSubmatch(scrape(t, ctx, run.AdminAddr), -1) {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("lag %q: %v", m[2], err)
			}
			total += v
			seen++
		}
		return total, seen
	}
	waitLong(t, ctx, func() bool { total, seen := lag(); return seen == len(parts) && total == n })

	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	waitLong(t, ctx, func() bool { total, seen := lag(); return seen == len(parts) && total == 0 })
	var stored int64
	if err := e.Pool.QueryRow(ctx, `SELECT coalesce(sum(next_offset), 0) FROM projector_offsets WHERE projector = 'sessions'`).Scan(&stored); err != nil || stored != n {
		t.Fatalf("sessions projector's stored offsets add up to %d (%v), want %d", stored, err, n)
	}
}

// waitLong polls cond until ctx ends.
func waitLong(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not reached before the test's deadline")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
