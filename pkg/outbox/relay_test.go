package outbox

import (
	"slices"
	"testing"

	"github.com/IBM/sarama"
)

// A send carries at most one row per topic and key, the oldest; the others
// wait for a later pass, so a failed row is never overtaken by a later
// event of its aggregate.
func TestOldestPerKeyDefersLaterRowsOfAKey(t *testing.T) {
	row := func(seq int64, topic, key string) pendingRow {
		return pendingRow{seq: seq, key: key, msg: &sarama.ProducerMessage{Topic: topic}}
	}
	cases := []struct {
		name string
		rows []pendingRow
		want []int64
	}{
		{"distinct keys all go", []pendingRow{row(1, "g", "a"), row(2, "g", "b"), row(3, "s", "a")}, []int64{1, 2, 3}},
		{"later rows of a key wait", []pendingRow{row(1, "g", "a"), row(2, "g", "b"), row(3, "g", "a"), row(4, "g", "c"), row(5, "g", "a")}, []int64{1, 2, 4}},
		{"nothing", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			for _, r := range oldestPerKey(tc.rows) {
				got = append(got, r.seq)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("sent %v, want %v", got, tc.want)
			}
		})
	}
}

// Only the rows Kafka acknowledged are marked, with where they landed.
func TestDeliveredMarksAcknowledgedRows(t *testing.T) {
	rows := []pendingRow{
		{seq: 1, key: "a", msg: &sarama.ProducerMessage{Topic: "g", Partition: 2, Offset: 10}},
		{seq: 2, key: "b", msg: &sarama.ProducerMessage{Topic: "g", Partition: 0, Offset: 7}},
	}
	got := delivered(rows, map[*sarama.ProducerMessage]bool{rows[0].msg: true})
	if len(got) != 1 || got[0].seq != 2 || got[0].pos.Partition != 0 || got[0].pos.Offset != 7 || got[0].pos.Topic != "g" {
		t.Fatalf("marked %+v, want only row 2 at g/0@7", got)
	}
}
