package ops

import (
	"sort"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	queryops "github.com/oof-gg/platform/query/ops"
)

// StatusProto is the wire form of a status (also what `oof status -json`
// prints, so the CLI and the RPC answer alike).
func StatusProto(st queryops.Status) *opspb.GetStatusResponse {
	out := &opspb.GetStatusResponse{
		KafkaError: st.KafkaError,
		Relay:      &opspb.RelayBacklog{Pending: st.Pending, OldestAgeSeconds: st.OldestAge.Seconds()},
	}
	for _, l := range st.Lag {
		out.Lag = append(out.Lag, &opspb.PartitionLag{Projector: l.Projector, Topic: l.Topic, Partition: l.Partition,
			StoredOffset: l.Stored, EndOffset: l.End, Lag: l.Lag})
	}
	names := make([]string, 0, len(st.DeadLetters))
	for n := range st.DeadLetters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.DeadLetters = append(out.DeadLetters, &opspb.DeadLetterCount{Projector: n, Open: st.DeadLetters[n]})
	}
	return out
}
