package main

// `oof replay` of one match (issue 10: a replay reads only that match's
// recorded ranges, never a scan of the topics). The fixture's target match
// has half of oof.live.v1's records; other matches' records share its
// partition and lie inside its range, and the replay must skip them.

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/oof-gg/platform/pkg/eventlog"
	queryops "github.com/oof-gg/platform/query/ops"
)

// matchRanges are the ranges match_history and live_event_ranges give for
// the target match (the rebuild scenario wrote match_history; without it
// the sessions projector has not run here, so the floor reads nothing).
func matchRanges(ctx context.Context, d *opsData) (queryops.Match, []partRange, error) {
	m, err := (&queryops.Matches{Pool: d.env.Pool}).Get(ctx, d.target)
	if err != nil {
		return m, nil, fmt.Errorf("the target match (run %q first): %w", nameRebuild, err)
	}
	rs := []partRange{{m.Session.Topic, m.Session.Partition, m.Session.First, m.Session.Last}}
	if m.Live != nil {
		rs = append(rs, partRange{m.Live.Topic, m.Live.Partition, m.Live.First, m.Live.Last})
	}
	return m, rs, nil
}

// replayReadFloor reads the target match's ranges, every record in them.
func replayReadFloor(b *bench) scenario {
	return rawReadScenario(b, nameReplayFloor, func(ctx context.Context, d *opsData) ([]partRange, error) {
		_, rs, err := matchRanges(ctx, d)
		return rs, err
	})
}

// replayMatch is what `oof replay` does before printing: read the match
// (query/ops.ReadMatch: its ranges only, filtered by key, time-ordered) and
// decode each record as `oof tail` does. Its events/s are the match's
// events per second.
func replayMatch(b *bench) scenario {
	var d *opsData
	return scenario{
		name: nameReplay, concurrency: 1,
		goal:  "returns exactly the match's events, reading only its ranges",
		floor: nameReplayFloor,
		setup: func(ctx context.Context) (err error) {
			d, err = b.opsData(ctx)
			return err
		},
		check: func(r result, _ map[string]result) (bool, string) {
			return r.errors == 0, ""
		},
		drive: func(ctx context.Context, _, _, _ time.Time) driven {
			out := driven{errTexts: map[string]int{}}
			fail := func(err error) driven {
				out.errors++
				out.errTexts[err.Error()]++
				return out
			}
			m, rs, err := matchRanges(ctx, d)
			if err != nil {
				return fail(err)
			}
			sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: d.env.Cfg.KafkaBrokers, Version: d.env.Cfg.KafkaVersion, ClientID: "oofbench-replay"})
			if err != nil {
				return fail(err)
			}
			client, err := sarama.NewClient(d.env.Cfg.KafkaBrokers, sc)
			if err != nil {
				return fail(err)
			}
			defer client.Close()
			t0 := time.Now()
			recs, err := queryops.ReadMatch(ctx, client, m)
			if err != nil {
				return fail(err)
			}
			bad := 0
			for _, rec := range recs {
				if l := queryops.DecodeRecord(rec); l.Error != "" || l.Key != d.target {
					bad++
				}
			}
			out.elapsed, out.ops = time.Since(t0), len(recs)
			var inRanges int64
			for _, r := range rs {
				inRanges += r.to - r.from + 1
			}
			out.notes = append(out.notes, fmt.Sprintf("match events: %s (%d lifecycle + %s live); records read: %s, its ranges only "+
				"(%s of other matches skipped); records on the two topics: %s",
				fmtInt(int(m.EventCount())), m.Session.Count, fmtInt(int(m.EventCount()-m.Session.Count)),
				fmtInt(int(inRanges)), fmtInt(int(inRanges-m.EventCount())), fmtInt(int(d.sessions+d.live))))
			if int64(len(recs)) != m.EventCount() || bad > 0 {
				out.errors++
				out.errTexts[fmt.Sprintf("replayed %d records (%d not the match's or undecodable), the match has %d events", len(recs), bad, m.EventCount())]++
			}
			return out
		},
	}
}
