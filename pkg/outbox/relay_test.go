package outbox

import (
	"slices"
	"testing"

	"github.com/IBM/sarama"
)

// After a failed row, no later row of its topic and key is marked relayed
// (even if Kafka took it): it is sent again after the failed one, so the
// log ends with the key's events in commit order.
func TestDeliveredStopsAKeyAtItsFirstFailure(t *testing.T) {
	row := func(seq int64, topic, key string) pendingRow {
		return pendingRow{seq: seq, key: key, msg: &sarama.ProducerMessage{Topic: topic}}
	}
	rows := []pendingRow{row(1, "g", "a"), row(2, "g", "b"), row(3, "g", "a"), row(4, "s", "a"), row(5, "g", "b"), row(6, "g", "a")}
	cases := []struct {
		name   string
		failed []int // indexes into rows
		want   []int64
	}{
		{"all acknowledged", nil, []int64{1, 2, 3, 4, 5, 6}},
		{"a failure holds back its key only", []int{0}, []int64{2, 4, 5}},
		{"a later failure keeps what came before", []int{2}, []int64{1, 2, 4, 5}},
		{"every key failing", []int{0, 1, 3}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			failed := map[*sarama.ProducerMessage]bool{}
			for _, i := range tc.failed {
				failed[rows[i].msg] = true
			}
			var got []int64
			for _, r := range delivered(rows, failed) {
				got = append(got, r.seq)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("marked %v, want %v", got, tc.want)
			}
		})
	}
}
