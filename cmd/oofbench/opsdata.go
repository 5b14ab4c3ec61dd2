package main

// The operator scenarios' data (opsrebuild.go, opsreplay.go): -ops-events
// session lifecycle events on oof.session.v1 and as many live events on
// oof.live.v1, in a namespace of their own (database, topics), produced
// straight to Kafka in big batches with the platform's own encoding
// (eventlog.Encode: protobuf payload, CloudEvents headers), so the
// projectors take them as the platform's. Through the RPCs a million events
// would take the whole bench's time.

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/tests/harness"
)

// lifecyclePerMatch is each match's events on oof.session.v1: created,
// three players join, started, four updates of its data, finished.
const lifecyclePerMatch = 10

// opsData is the namespace and what was produced into it.
type opsData struct {
	env      *harness.Env
	sessions int64 // records on oof.session.v1
	live     int64 // records on oof.live.v1
	target   string
	// targetLive is where the target match's live events landed.
	targetLive struct {
		partition   int32
		first, last int64
		count       int64
		firstAt     time.Time
		lastAt      time.Time
	}
}

type opsFixture struct {
	once sync.Once
	data *opsData
	err  error
}

// opsData builds the fixture once for both operator scenarios.
func (b *bench) opsData(ctx context.Context) (*opsData, error) {
	f := &b.ops
	f.once.Do(func() {
		f.data, f.err = buildOpsData(ctx, b)
	})
	return f.data, f.err
}

func buildOpsData(ctx context.Context, b *bench) (*opsData, error) {
	env, err := harness.New(ctx, b.env.Infra)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, env.Stop)
	if err := platform.Prepare(ctx, env.Cfg, env.Log); err != nil {
		return nil, err
	}
	d := &opsData{env: env}
	sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: env.Cfg.KafkaBrokers, Version: env.Cfg.KafkaVersion,
		ClientID: "oofbench-ops", ProduceTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	// Larger requests than the platform's (it sends a transaction's few
	// events at once): this is only the setup.
	sc.Producer.Flush.Messages = 2000
	sc.Producer.Flush.Frequency = 5 * time.Millisecond
	sc.Producer.Flush.MaxMessages = 10000
	producer, err := sarama.NewSyncProducer(env.Cfg.KafkaBrokers, sc)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	t0 := time.Now()
	n := int64(b.opts.opsEvents)
	matches := max(1, n/lifecyclePerMatch)
	ids := make([]string, matches)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	d.target = ids[0]
	start := time.Now().Add(-time.Duration(matches) * time.Second).Truncate(time.Millisecond)
	games := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}

	// The target match's live events fill the middle of its lifecycle:
	// started at +4 s, finished after the last live event.
	liveGap := time.Millisecond
	targetEnd := start.Add(4*time.Second + time.Duration(n)*liveGap + time.Second)
	sessionTopic, liveTopic := env.Cfg.Topic(platform.TopicSession), env.Cfg.Topic(platform.TopicLive)
	var batch []*sarama.ProducerMessage
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := producer.SendMessages(batch); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		for _, m := range batch {
			if m.Topic == liveTopic && m.Key.(sarama.StringEncoder) == sarama.StringEncoder(d.target) {
				tl := &d.targetLive
				if tl.count == 0 {
					tl.partition, tl.first = m.Partition, m.Offset
				}
				tl.last = m.Offset
				tl.count++
			}
		}
		batch = batch[:0]
		return nil
	}
	add := func(topic, key string, msg proto.Message, at time.Time) error {
		rec, err := eventlog.Encode(ctx, eventlog.Event{Topic: topic, Key: key, Subject: "session/" + key,
			Source: "/oofbench", Message: msg}, at)
		if err != nil {
			return err
		}
		batch = append(batch, rec.Message())
		if len(batch) >= 20000 {
			return flush()
		}
		return nil
	}

	// oof.session.v1: every match's lifecycle, one match after the other.
	for i, id := range ids {
		at := start.Add(time.Duration(i) * time.Second)
		end := at.Add(lifecyclePerMatch * time.Second)
		if id == d.target {
			end = targetEnd
		}
		for _, ev := range lifecycle(id, games[i%len(games)], at, end) {
			if err := add(sessionTopic, id, ev.msg, ev.at); err != nil {
				return nil, err
			}
			d.sessions++
		}
	}
	// oof.live.v1: every other record is the target match's, the rest are
	// other matches' (some share its partition, so its range holds others'
	// records that the replay must skip).
	for i := range n {
		key, at := ids[1+int(i/2)%max(1, len(ids)-1)], start.Add(time.Duration(i)*liveGap)
		if i%2 == 0 || len(ids) == 1 {
			key, at = d.target, start.Add(4*time.Second+time.Duration(i)*liveGap)
		}
		if err := add(liveTopic, key, liveEvent(key, i, at), at); err != nil {
			return nil, err
		}
		d.live++
	}
	if err := flush(); err != nil {
		return nil, err
	}
	tl := &d.targetLive
	tl.firstAt, tl.lastAt = start.Add(4*time.Second), start.Add(4*time.Second+time.Duration(n-1)*liveGap)
	// What the live projector records for a match (projector/live ranges.go);
	// the bench does not run it (it also fills Redis streams).
	if _, err := env.Pool.Exec(ctx, `INSERT INTO live_event_ranges (session_id, kafka_topic, kafka_partition,
		first_offset, last_offset, event_count, first_at, last_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		d.target, liveTopic, tl.partition, tl.first, tl.last, tl.count, tl.firstAt, tl.lastAt); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "oofbench: operator data: %d lifecycle + %d live events produced in %v\n",
		d.sessions, d.live, time.Since(t0).Round(time.Millisecond))
	return d, nil
}

type timedEvent struct {
	msg proto.Message
	at  time.Time
}

// lifecycle is one match's events as the session commands write them.
func lifecycle(id, game string, at, end time.Time) []timedEvent {
	host := uuid.NewString()
	s := &gamepb.Session{Id: id, GameId: game, State: gamepb.GameState_STATE_WAITING}
	snap := func() *gamepb.Session { return proto.Clone(s).(*gamepb.Session) }
	evs := []timedEvent{{&eventspb.SessionCreated{Session: snap(), HostId: host, Version: 1, CreatedAt: timestamppb.New(at)}, at}}
	update := func(prev gamepb.GameState, joined []string, t time.Time) {
		v := int64(len(evs) + 1)
		evs = append(evs, timedEvent{&eventspb.SessionUpdated{Session: snap(), UpdatedBy: host, Version: v,
			PreviousState: prev, JoinedUserIds: joined, UpdatedAt: timestamppb.New(t)}, t})
	}
	for j := range 3 {
		u := uuid.NewString()
		s.UserIds = append(s.UserIds, u)
		update(s.State, []string{u}, at.Add(time.Duration(j+1)*time.Second))
	}
	s.State = gamepb.GameState_STATE_STARTED
	update(gamepb.GameState_STATE_WAITING, nil, at.Add(4*time.Second))
	for j := range lifecyclePerMatch - 6 {
		s.Data = proto.String(fmt.Sprintf(`{"round":%d}`, j+1))
		t := at.Add(4*time.Second + time.Duration(j+1)*end.Sub(at.Add(4*time.Second))/lifecyclePerMatch)
		update(gamepb.GameState_STATE_STARTED, nil, t)
	}
	s.State = gamepb.GameState_STATE_FINISHED
	update(gamepb.GameState_STATE_STARTED, nil, end)
	return evs
}

// liveEvent is a player's action as command/live stamps it.
func liveEvent(session string, i int64, at time.Time) *eventspb.LiveEvent {
	return &eventspb.LiveEvent{SenderRole: eventspb.LiveEvent_SENDER_ROLE_MEMBER, Event: &gamepb.GameEvent{
		Id: proto.String(uuid.NewString()), EventName: proto.String("move"), Timestamp: at.UnixMilli(),
		SessionId: proto.String(session), PlayerId: proto.String("p1"), Type: gamepb.GameEvent_TYPE_ACTION,
		Data: proto.String(fmt.Sprintf(`{"x":%d,"y":%d}`, i%97, i%89)),
	}}
}
