package ops

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// Pace keeps the gaps between events divided by speed, measured from the
// first event (no drift), and sends at once at speed 0.
func TestPace(t *testing.T) {
	t0 := time.Now()
	var recs []*sarama.ConsumerMessage
	for _, gap := range []time.Duration{0, 200 * time.Millisecond, 600 * time.Millisecond} {
		recs = append(recs, &sarama.ConsumerMessage{Timestamp: t0.Add(gap)})
	}
	for _, tc := range []struct {
		speed float64
		want  []time.Duration
	}{
		{0, []time.Duration{0, 0, 0}},
		{2, []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond}},
		{1, []time.Duration{0, 200 * time.Millisecond, 600 * time.Millisecond}},
	} {
		start := time.Now()
		var got []time.Duration
		err := Pace(context.Background(), recs, tc.speed, func(*sarama.ConsumerMessage) error {
			got = append(got, time.Since(start))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if got[i] < w || got[i] > w+80*time.Millisecond {
				t.Errorf("speed %v: event %d after %v, want %v", tc.speed, i, got[i], w)
			}
		}
	}
	if err := Pace(context.Background(), recs, -1, func(*sarama.ConsumerMessage) error { return nil }); err == nil {
		t.Error("negative speed accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Pace(ctx, recs, 1, func(*sarama.ConsumerMessage) error { return nil }); err == nil {
		t.Error("a cancelled replay kept waiting")
	}
}
