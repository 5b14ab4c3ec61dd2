package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/tests/harness"
)

// Records that fail for a reason of their own are dead-lettered after the
// configured attempts while the rest of their batch and partition applies
// exactly once; a record that fails on infrastructure is retried (far past
// the attempt limit) and never dead-lettered; re-driving after the fix
// applies a record once, and a second re-drive does nothing.
func TestRunnerDeadLettersFailingRecordsAndRedrives(t *testing.T) {
	ctx := testCtx(t)
	topic := newProbeTopic(t)
	pool := newProbeDB(t, ctx)
	producer, err := sarama.NewSyncProducerFromClient(env.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	records := []*probeRecord{{value: "ok-0"}, {value: "bad-1"}, {value: "null-2"}, {value: "ok-3"}, {value: "panic-4"},
		{value: "garbage-5", ceType: "oof.test.v1.Unknown"}, {value: "locked-6"}, {value: "ok-7"}}
	for _, r := range records {
		produceProbe(t, producer, topic, r)
	}
	byValue := map[string]*probeRecord{}
	for _, r := range records {
		byValue[r.value] = r
	}

	// Hold the row "locked-6" needs until it has failed well past the limit.
	const maxAttempts = 2
	p := &probe{topic: topic}
	defer holdProbeLock(t, ctx, pool, p, 3*maxAttempts)()

	reg := prometheus.NewRegistry()
	metrics := projection.NewMetrics(reg, pool, env.Log)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: env.Cfg.KafkaBrokers, Version: env.Cfg.KafkaVersion, ClientID: "test-probe"})
		if err != nil {
			t.Error(err)
			return
		}
		client, err := sarama.NewClient(env.Cfg.KafkaBrokers, sc)
		if err != nil {
			t.Error(err)
			return
		}
		defer client.Close()
		_ = projection.NewRunner(p, pool, client, "probe"+harness.RandomID(3)+".", 500, env.Log,
			projection.WithMetrics(metrics), projection.WithMaxAttempts(maxAttempts)).Run(runCtx)
	}()
	defer func() { stop(); <-done }()

	waitProbeOffset(t, ctx, pool, topic, records[len(records)-1].offset+1)

	for _, v := range []string{"ok-0", "ok-3", "locked-6", "ok-7"} {
		if n := appliedCount(t, ctx, pool, v); n != 1 {
			t.Errorf("%s applied %d times, want exactly once", v, n)
		}
	}
	if got := p.lockAttempts.Load(); got < 3*maxAttempts {
		t.Errorf("locked-6 tried %d times; the lock was held for at least %d", got, 3*maxAttempts)
	}
	dead, err := projection.ListDeadLetters(ctx, pool, projection.ListOptions{Redriven: true})
	if err != nil {
		t.Fatal(err)
	}
	wantDead := map[string]struct {
		attempts int
		errText  string
	}{
		"bad-1":     {maxAttempts, "probe: bad-1 is bad"},
		"null-2":    {maxAttempts, "23502"},
		"panic-4":   {maxAttempts, "panic in Apply: probe: panic-4"},
		"garbage-5": {1, "unknown event type"},
	}
	if len(dead) != len(wantDead) {
		t.Fatalf("%d dead letters, want %d: %+v", len(dead), len(wantDead), dead)
	}
	ids := map[string]int64{}
	for _, d := range dead {
		r := recordAt(t, records, d.Offset)
		want, ok := wantDead[r.value]
		if !ok {
			t.Fatalf("dead letter for %s, which should have applied", r.value)
		}
		ids[r.value] = d.ID
		checkDeadLetter(t, d, r, "probe", topic, want.attempts, want.errText)
	}
	if !strings.Contains(deadByID(dead, ids["panic-4"]).Error, "goroutine") {
		t.Error("a panic's dead letter keeps its stack")
	}
	if got := metricValue(t, reg, "oof_projector_dead_letters_total", "probe"); got != 4 {
		t.Errorf("dead letters counted %v, want 4", got)
	}
	if got := metricValue(t, reg, "oof_projector_dead_letters_open", "probe"); got != 4 {
		t.Errorf("open dead letters %v, want 4", got)
	}

	// The fix ships: re-drive applies bad-1 once, with its original offset.
	p.fixed.Store(true)
	lookup := func(name string) (projection.Projector, bool) { return p, name == p.Name() }
	res, err := projection.RetryDeadLetter(ctx, pool, lookup, ids["bad-1"])
	if err != nil || res.Outcome != projection.Redriven {
		t.Fatalf("re-drive bad-1: %+v, %v", res, err)
	}
	res, err = projection.RetryDeadLetter(ctx, pool, lookup, ids["bad-1"])
	if err != nil || res.Outcome != projection.AlreadyRedriven {
		t.Fatalf("second re-drive of bad-1: %+v, %v; want a no-op", res, err)
	}
	if n := countProbe(t, ctx, pool, `WHERE value = 'bad-1' AND "offset" = $1`, byValue["bad-1"].offset); n != 1 {
		t.Fatalf("bad-1 applied %d times after two re-drives, want once", n)
	}

	// Re-drive the rest: the fixed ones apply, the undecodable one stays dead
	// with one more attempt.
	outcomes := map[int64]projection.RedriveOutcome{}
	err = projection.RetryOpenDeadLetters(ctx, pool, lookup, "", func(r projection.RedriveResult, err error) {
		if err != nil {
			t.Errorf("re-drive %d: %v", r.ID, err)
		}
		outcomes[r.ID] = r.Outcome
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes := map[int64]projection.RedriveOutcome{ids["null-2"]: projection.Redriven,
		ids["panic-4"]: projection.Redriven, ids["garbage-5"]: projection.StillFailing}
	if fmt.Sprint(outcomes) != fmt.Sprint(wantOutcomes) {
		t.Fatalf("re-drive all: %v, want %v", outcomes, wantOutcomes)
	}
	for _, v := range []string{"null-2", "panic-4"} {
		if n := appliedCount(t, ctx, pool, v); n != 1 {
			t.Errorf("%s applied %d times after its re-drive, want once", v, n)
		}
	}
	after, err := projection.ListDeadLetters(ctx, pool, projection.ListOptions{Redriven: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range after {
		r := recordAt(t, records, d.Offset)
		switch {
		case r.value == "garbage-5":
			if d.Status != projection.StatusDead || d.Attempts != 2 || d.RedrivenAt != nil {
				t.Errorf("garbage-5 after a failed re-drive: %+v", d)
			}
		case d.Status != projection.StatusRedriven || d.RedrivenAt == nil || d.RedrivenAt.Before(d.LastFailedAt):
			t.Errorf("%s after its re-drive: status %s, redriven at %v", r.value, d.Status, d.RedrivenAt)
		}
	}
	if got := metricValue(t, reg, "oof_projector_dead_letters_open", "probe"); got != 1 {
		t.Errorf("open dead letters %v after the re-drives, want 1", got)
	}
	if got := metricValue(t, reg, "oof_projector_dead_letters_total", "probe"); got != 4 {
		t.Errorf("re-drives changed the dead-lettered count to %v", got)
	}
	if _, err := projection.RetryDeadLetter(ctx, pool, lookup, 1<<40); !errors.Is(err, projection.ErrDeadLetterNotFound) {
		t.Errorf("re-drive of an unknown id: %v", err)
	}

	// The partition still flows, and a batch that fails only on
	// infrastructure is retried whole until it applies, past the limit.
	tries := p.lockAttempts.Load()
	release := holdProbeLock(t, ctx, pool, p, tries+2*maxAttempts)
	tail := []*probeRecord{{value: "locked-8"}, {value: "ok-9"}}
	for _, r := range tail {
		produceProbe(t, producer, topic, r)
	}
	waitProbeOffset(t, ctx, pool, topic, tail[1].offset+1)
	release()
	for _, r := range tail {
		if n := appliedCount(t, ctx, pool, r.value); n != 1 {
			t.Errorf("%s applied %d times, want once", r.value, n)
		}
	}
	if got := p.lockAttempts.Load() - tries; got < 2*maxAttempts {
		t.Errorf("locked-8 tried %d times while the lock was held for %d", got, 2*maxAttempts)
	}
	if after, err := projection.ListDeadLetters(ctx, pool, projection.ListOptions{}); err != nil || len(after) != 1 {
		t.Errorf("open dead letters %d (%v), want only garbage-5", len(after), err)
	}
}
