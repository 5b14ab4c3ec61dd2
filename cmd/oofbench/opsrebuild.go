package main

// `oof rebuild sessions` over -ops-events lifecycle events (issue 10: rebuild
// ≥ 0.5× the raw Kafka read rate of the same topic, measured in the same
// run). The sessions projector is PostgreSQL-only (online rebuild refuses
// the Redis-mirroring ones) and has the most events of those.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/projector"
)

const (
	nameRebuildFloor  = "kafka read oof.session.v1 (raw)"
	nameReplayFloor   = "kafka read one match's ranges (raw)"
	nameRebuild       = "oof rebuild sessions"
	nameReplay        = "oof replay (one match)"
	rebuildGoalMinOps = 0.5
)

// partRange is offsets [from, to] of one partition.
type partRange struct {
	topic     string
	partition int32
	from, to  int64
}

// topicRanges is every partition of topic from its oldest to its newest
// record.
func topicRanges(client sarama.Client, topic string) ([]partRange, error) {
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	var out []partRange
	for _, p := range parts {
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, err
		}
		if end > oldest {
			out = append(out, partRange{topic, p, oldest, end - 1})
		}
	}
	return out, nil
}

// rawRead is the floor: a sarama client configured as the platform's
// (eventlog.NewSaramaConfig) and a bare partition-consumer loop per range,
// all ranges at once, counting records. No decoding, no platform code.
func rawRead(ctx context.Context, d *opsData, ranges []partRange) (int64, time.Duration, error) {
	sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: d.env.Cfg.KafkaBrokers, Version: d.env.Cfg.KafkaVersion, ClientID: "oofbench-raw"})
	if err != nil {
		return 0, 0, err
	}
	client, err := sarama.NewClient(d.env.Cfg.KafkaBrokers, sc)
	if err != nil {
		return 0, 0, err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return 0, 0, err
	}
	defer consumer.Close()
	var n atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(ranges))
	t0 := time.Now()
	for _, r := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := consumer.ConsumePartition(r.topic, r.partition, r.from)
			if err != nil {
				errs <- err
				return
			}
			defer pc.Close()
			var got int64
			defer func() { n.Add(got) }()
			for {
				select {
				case <-ctx.Done():
					errs <- ctx.Err()
					return
				case err := <-pc.Errors():
					// The consumer retries by itself (Return.Errors only
					// reports); only a dead connection would hang here,
					// and ctx ends that.
					_ = err
				case m := <-pc.Messages():
					got++
					if m.Offset >= r.to {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	close(errs)
	for err := range errs {
		return n.Load(), elapsed, err
	}
	return n.Load(), elapsed, nil
}

// rawReadScenario reads ranges (from the fixture) as the floor.
func rawReadScenario(b *bench, name string, ranges func(context.Context, *opsData) ([]partRange, error)) scenario {
	var d *opsData
	return scenario{
		name: name, concurrency: 1,
		setup: func(ctx context.Context) (err error) {
			d, err = b.opsData(ctx)
			return err
		},
		drive: func(ctx context.Context, _, _, _ time.Time) driven {
			out := driven{errTexts: map[string]int{}}
			rs, err := ranges(ctx, d)
			if err != nil {
				out.errors, out.errTexts[err.Error()] = 1, 1
				return out
			}
			n, elapsed, err := rawRead(ctx, d, rs)
			if err != nil {
				out.errors, out.errTexts[err.Error()] = 1, 1
			}
			out.ops, out.elapsed = int(n), elapsed
			out.notes = append(out.notes, fmt.Sprintf("%s records from %d partition ranges in %v (one sarama partition consumer each, all at once)",
				fmtInt(int(n)), len(rs), elapsed.Round(time.Millisecond)))
			return out
		},
	}
}

// rebuildReadFloor reads the whole oof.session.v1 the rebuild reads.
func rebuildReadFloor(b *bench) scenario {
	return rawReadScenario(b, nameRebuildFloor, func(_ context.Context, d *opsData) ([]partRange, error) {
		return topicRanges(d.env.Kafka, d.env.Cfg.Topic(platform.TopicSession))
	})
}

// rebuildSessions runs `oof rebuild sessions` (platform.RebuildOnline, the
// code the CLI calls) over the whole topic: shadow tables, build, catch-up,
// swap with checksums. Its events/s are records applied per second of the
// whole run.
func rebuildSessions(b *bench) scenario {
	var d *opsData
	return scenario{
		name: nameRebuild, concurrency: 1,
		goal:  fmt.Sprintf("≥ %.1f× the raw read of the same topic", rebuildGoalMinOps),
		floor: nameRebuildFloor, minOpsRatio: rebuildGoalMinOps,
		setup: func(ctx context.Context) (err error) {
			d, err = b.opsData(ctx)
			return err
		},
		drive: func(ctx context.Context, _, _, _ time.Time) driven {
			out := driven{errTexts: map[string]int{}}
			phases := map[string]time.Time{}
			batches := map[string]int{}
			var mu sync.Mutex
			t0 := time.Now()
			res, err := platform.RebuildOnline(ctx, d.env.Cfg, projector.Sessions, platform.RebuildOptions{
				Progress: func(p platform.RebuildProgress) {
					mu.Lock()
					defer mu.Unlock()
					if _, ok := phases[p.Phase]; !ok {
						phases[p.Phase] = time.Now()
					}
					batches[p.Phase]++
				},
			}, d.env.Log)
			out.elapsed = time.Since(t0)
			if err != nil {
				out.errors, out.errTexts[err.Error()] = 1, 1
				return out
			}
			var records int64
			for _, r := range res {
				records += r.Records
				for _, t := range r.Tables {
					out.notes = append(out.notes, fmt.Sprintf("table %s: %s rows rebuilt", t.Table, fmtInt(int(t.NewRows))))
				}
			}
			out.ops = int(records)
			if records != d.sessions {
				out.errors++
				out.errTexts[fmt.Sprintf("rebuilt %d records, the topic holds %d", records, d.sessions)]++
			}
			mu.Lock()
			out.notes = append(out.notes, fmt.Sprintf("%d transactions in the build phase (%.0f records each)",
				batches["build"]-1, float64(records)/float64(max(1, batches["build"]-1))))
			out.notes = append(out.notes, fmt.Sprintf("%s records in %v: preparing the shadow %v, build %v, making it durable %v, catch-up %v, swap (with checksums) %v",
				fmtInt(int(records)), out.elapsed.Round(time.Millisecond), phases["build"].Sub(t0).Round(time.Millisecond),
				phases["durable"].Sub(phases["build"]).Round(time.Millisecond),
				phases["catch-up"].Sub(phases["durable"]).Round(time.Millisecond),
				phases["swap"].Sub(phases["catch-up"]).Round(time.Millisecond),
				t0.Add(out.elapsed).Sub(phases["swap"]).Round(time.Millisecond)))
			mu.Unlock()
			return out
		},
	}
}
