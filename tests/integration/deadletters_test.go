package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
)

// A well-formed event the sessions projector can never apply goes to the
// dead letters after the configured attempts, and the records behind it on
// the same partition (here: a real update of the same session) still reach
// the read model.
func TestSessionsProjectorDeadLettersABadRecordAndMovesOn(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	s, _ := newSession(t, ctx, dev, g.GetId(), "u1", "u2")

	// Keyed by the session, like the platform's own events, so it lands on
	// the session's partition; its snapshot's id is not a UUID, which the
	// projector's UPDATE rejects (22P02) on every attempt.
	bad := &eventspb.SessionUpdated{
		Session: &gamepb.Session{Id: "not-a-uuid", GameId: g.GetId(), State: gamepb.GameState_STATE_STARTED},
		Version: 2, UpdatedAt: timestamppb.Now(),
	}
	payload, err := proto.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	ceID := uuid.NewString()
	headers := []sarama.RecordHeader{
		{Key: []byte(eventlog.HeaderSpecVersion), Value: []byte("1.0")},
		{Key: []byte(eventlog.HeaderID), Value: []byte(ceID)},
		{Key: []byte(eventlog.HeaderType), Value: []byte("oof.events.v1.SessionUpdated")},
		{Key: []byte(eventlog.HeaderContentType), Value: []byte(eventlog.ContentTypeProtobuf)},
	}
	producer, err := sarama.NewSyncProducerFromClient(env.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	topic := env.Topic("oof.session.v1")
	partition, offset, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic,
		Key: sarama.StringEncoder(s.GetId()), Value: sarama.ByteEncoder(payload), Headers: headers})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(),
		State: gamepb.GameState_STATE_STARTED}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return getSession(t, ctx, dev, s.GetId()).GetState() == gamepb.GameState_STATE_STARTED })
	if n := countRows(t, ctx, `SELECT count(*) FROM projector_offsets WHERE projector = 'sessions'
		AND topic = $1 AND partition = $2 AND next_offset > $3 + 1`, topic, partition, offset); n != 1 {
		t.Fatalf("the sessions projector did not get past offset %d of partition %d", offset, partition)
	}

	dead, err := projection.ListDeadLetters(ctx, env.Pool, projection.ListOptions{Projector: "sessions", Redriven: true})
	if err != nil {
		t.Fatal(err)
	}
	var d *projection.DeadLetter
	for i := range dead {
		if dead[i].Topic == topic && dead[i].Partition == partition && dead[i].Offset == offset {
			d = &dead[i]
		}
	}
	if d == nil {
		t.Fatalf("no dead letter for %s/%d@%d among %d", topic, partition, offset, len(dead))
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"id assigned", d.ID > 0, true},
		{"event type", d.EventType, "oof.events.v1.SessionUpdated"},
		{"event id", d.EventID, ceID},
		{"key", string(d.Key), s.GetId()},
		{"attempts (the configured default)", d.Attempts, env.Cfg.ProjectorMaxAttempts},
		{"status", d.Status, projection.StatusDead},
		{"payload", string(d.Payload), string(payload)},
		{"headers", headerText(d.Headers), headerText(ptrs(headers))},
		{"error names the cause", strings.Contains(d.Error, "22P02"), true},
		{"first failure recent", time.Since(d.FirstFailedAt) < time.Minute, true},
		{"last failure after first", !d.LastFailedAt.Before(d.FirstFailedAt), true},
		{"not redriven", d.RedrivenAt == nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v (error %q)", c.what, c.got, c.want, firstLineOf(d.Error))
		}
	}
	if env.Cfg.ProjectorMaxAttempts != projection.DefaultMaxAttempts {
		t.Errorf("the platform's default attempts %d differ from the runner's %d", env.Cfg.ProjectorMaxAttempts, projection.DefaultMaxAttempts)
	}
}
