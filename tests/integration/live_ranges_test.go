package integration

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	projlive "github.com/oof-gg/platform/projector/live"
)

// The live projector's ranges are exactly-once in effect: a batch
// delivered again (a crash before the offset store moved), whole or
// overlapping a newer one, neither widens the range wrongly nor counts an
// event twice.
func TestLiveRangesAreIdempotent(t *testing.T) {
	ctx := testCtx(t)
	p := projlive.New("ranges-test", env.Redis, env.Cfg.RedisKeyPrefix+"rangestest:", 100, time.Minute).WithRanges(env.Pool)
	a, b := uuid.NewString(), uuid.NewString()
	base := time.Now().UTC().Truncate(time.Millisecond)
	ev := func(session string, off int64) projection.Event {
		return projection.Event{
			Env: eventlog.Envelope{Topic: "ranges-test", Partition: 2, Offset: off, Key: session, Time: base.Add(time.Duration(off) * time.Second)},
			Msg: &eventspb.LiveEvent{Event: &gamepb.GameEvent{SessionId: proto.String(session), Id: proto.String(uuid.NewString())}},
		}
	}
	type want struct{ first, last, count int64 }
	check := func(session string, w want) {
		t.Helper()
		var got want
		var part int32
		var firstAt, lastAt time.Time
		err := env.Pool.QueryRow(ctx, `SELECT kafka_partition, first_offset, last_offset, event_count, first_at, last_at
			FROM live_event_ranges WHERE session_id = $1 AND kafka_topic = 'ranges-test'`, session).
			Scan(&part, &got.first, &got.last, &got.count, &firstAt, &lastAt)
		if err != nil || got != w || part != 2 || !firstAt.Equal(base.Add(time.Duration(w.first)*time.Second)) ||
			!lastAt.Equal(base.Add(time.Duration(w.last)*time.Second)) {
			t.Fatalf("%s: %+v p%d %v..%v (%v), want %+v", session, got, part, firstAt, lastAt, err, w)
		}
	}
	steps := []struct {
		name  string
		batch []projection.Event
		a, b  want
	}{
		{"first batch", []projection.Event{ev(a, 10), ev(b, 11), ev(a, 12)}, want{10, 12, 2}, want{11, 11, 1}},
		{"same batch again", []projection.Event{ev(a, 10), ev(b, 11), ev(a, 12)}, want{10, 12, 2}, want{11, 11, 1}},
		{"overlapping newer batch", []projection.Event{ev(a, 12), ev(b, 13), ev(a, 14)}, want{10, 14, 3}, want{11, 13, 2}},
		{"an old record alone", []projection.Event{ev(a, 10)}, want{10, 14, 3}, want{11, 13, 2}},
	}
	for _, s := range steps {
		if err := p.ApplyDirect(ctx, s.batch); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		check(a, s.a)
		check(b, s.b)
	}
}
