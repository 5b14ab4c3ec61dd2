package projection

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestHeadersRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   []*sarama.RecordHeader
		want []*sarama.RecordHeader
	}{
		{"none", nil, []*sarama.RecordHeader{}},
		{"cloudevents, order kept", []*sarama.RecordHeader{
			{Key: []byte("ce_type"), Value: []byte("oof.events.v1.SessionUpdated")},
			{Key: []byte("ce_id"), Value: []byte("0190b3c4-0000-7000-8000-000000000001")},
		}, nil},
		{"binary value and duplicate key", []*sarama.RecordHeader{
			{Key: []byte("x"), Value: []byte{0, 0xff, '\n'}},
			{Key: []byte("x"), Value: nil},
		}, []*sarama.RecordHeader{{Key: []byte("x"), Value: []byte{0, 0xff, '\n'}}, {Key: []byte("x")}}},
		{"nil header skipped", []*sarama.RecordHeader{nil, {Key: []byte("k"), Value: []byte("v")}},
			[]*sarama.RecordHeader{{Key: []byte("k"), Value: []byte("v")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == nil {
				tc.want = tc.in
			}
			raw, err := encodeHeaders(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeHeaders(raw)
			if err != nil {
				t.Fatal(err)
			}
			eq := func(a, b *sarama.RecordHeader) bool {
				return string(a.Key) == string(b.Key) && string(a.Value) == string(b.Value)
			}
			if !slices.EqualFunc(got, tc.want, eq) {
				t.Fatalf("stored as %s, came back as %d headers, want %d", raw, len(got), len(tc.want))
			}
		})
	}
}

func TestFailureText(t *testing.T) {
	var f failure
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f.add(errors.New("first"), at)
	f.add(protect(func() error { panic("second") }), at.Add(time.Second))
	if f.attempts != 2 || !f.first.Equal(at) || !f.last.Equal(at.Add(time.Second)) {
		t.Fatalf("failure %+v", f)
	}
	text := f.text()
	if !strings.HasPrefix(text, "panic in Apply: second\n") || !strings.Contains(text, "goroutine") {
		t.Fatalf("a panic's dead letter keeps its stack; got %q", text)
	}
}
