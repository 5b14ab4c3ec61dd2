package crash

import (
	"slices"
	"testing"
	"time"

	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/tests/harness"
)

// kafkaOutage is how long the broker stays away.
const kafkaOutage = 30 * time.Second

// With Kafka gone for 30 s under load, commands keep being acknowledged
// (with x-oof-consistency: pending, since their events cannot be on the log
// yet); once Kafka is back, every acknowledged event reaches its topic
// exactly once and the read models show every acknowledged change.
func TestKafkaOutageUnderLoadLosesNothing(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	t0 := time.Now()
	broker := startPrivateBroker(t, ctx)
	t.Logf("private broker %s started in %s", broker.addr, time.Since(t0).Round(time.Millisecond))

	in := infra
	in.KafkaBrokers = []string{broker.addr}
	e, err := harness.Start(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	dev := signInDeveloper(t, ctx, e.Conn, e.Pool)

	// About 10 commands a second: a few hundred in all.
	l := startLoad(ctx, e.Conn, dev, loadOptions{workers: 4, pause: 400 * time.Millisecond, maxCommands: 5000})
	defer l.finish()
	for l.acked.Load() < 12 {
		select {
		case <-ctx.Done():
			t.Fatalf("load never got going: %s", l)
		case <-time.After(20 * time.Millisecond):
		}
	}

	broker.kill(t)
	down := time.Now()
	t.Logf("broker killed; load so far: %s", l)
	time.Sleep(kafkaOutage)
	restart := time.Now()
	if err := broker.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("broker restarted in %s", time.Since(restart).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // a little load with Kafka back
	l.finish()

	acks, failed := l.outcomes()
	t.Logf("load: %s", l)
	if len(failed) > 0 {
		t.Errorf("commands failed while Kafka was away: %v (they must be accepted into the outbox)", failed)
	}
	// A command sent after the broker died cannot have its event on the log
	// before the broker is back, so it must not claim fresh.
	var during []time.Duration
	for _, a := range acks {
		if a.started.Before(down) || !a.started.Before(restart) {
			continue
		}
		during = append(during, a.took)
		if a.consistency != kit.ConsistencyPending {
			t.Errorf("%s v%d acknowledged during the outage with %s=%q, want %q",
				a.subject, a.version, kit.ConsistencyHeader, a.consistency, kit.ConsistencyPending)
		}
	}
	if len(during) < 50 {
		t.Errorf("only %d commands acknowledged during the %s outage; commands must keep being accepted", len(during), kafkaOutage)
	}
	slices.Sort(during)
	if len(during) > 0 {
		// Reported, not asserted: how long callers waited meanwhile.
		t.Logf("%d commands acknowledged while Kafka was away; answer time median %s, max %s", len(during),
			during[len(during)/2].Round(time.Millisecond), during[len(during)-1].Round(time.Millisecond))
	}

	verifyRecovered(t, ctx, e, acks, false)
}
