package outbox

import (
	"slices"
	"testing"

	"github.com/IBM/sarama"
)

// A send carries at most one row per topic and key, the oldest; the others
// wait for a later send, so a failed row is never overtaken by a later
// event of its aggregate.
func TestOldestPerKeyDefersLaterRowsOfAKey(t *testing.T) {
	row := func(seq int64, topic, key string) pendingRow {
		return pendingRow{seq: seq, key: key, msg: &sarama.ProducerMessage{Topic: topic}}
	}
	cases := []struct {
		name         string
		rows         []pendingRow
		wantSeqs     []int64
		wantDeferred int
	}{
		{"distinct keys all go", []pendingRow{row(1, "g", "a"), row(2, "g", "b"), row(3, "s", "a")}, []int64{1, 2, 3}, 0},
		{"later rows of a key wait", []pendingRow{row(1, "g", "a"), row(2, "g", "b"), row(3, "g", "a"), row(4, "g", "c"), row(5, "g", "a")}, []int64{1, 2, 4}, 2},
		{"nothing", nil, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, deferred := oldestPerKey(tc.rows)
			var seqs []int64
			for _, r := range got {
				seqs = append(seqs, r.seq)
			}
			if !slices.Equal(seqs, tc.wantSeqs) || deferred != tc.wantDeferred {
				t.Fatalf("sent %v, deferred %d; want %v, %d", seqs, deferred, tc.wantSeqs, tc.wantDeferred)
			}
		})
	}
}
