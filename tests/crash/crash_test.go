package crash

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/oof-gg/platform/pkg/failpoint"
	"github.com/oof-gg/platform/tests/harness"
)

// startOof runs the oof binary (-target=all) on e's namespace, with the
// failpoint armed if one is given, and returns it ready with a client. Each
// run gets its own consumer groups: a killed process's group members would
// otherwise hold their partitions until Kafka's session timeout, and the
// projectors resume from PostgreSQL's positions anyway.
func startOof(t *testing.T, ctx context.Context, e *harness.Env, bin, fp string) (*harness.Process, *grpc.ClientConn) {
	t.Helper()
	cfg := e.Cfg
	var err error
	if cfg.GRPCAddr, err = harness.FreeAddr(); err != nil {
		t.Fatal(err)
	}
	if cfg.AdminAddr, err = harness.FreeAddr(); err != nil {
		t.Fatal(err)
	}
	cfg.ProjectorGroupPrefix = cfg.KafkaTopicPrefix + "run" + harness.RandomID(3) + "."
	env := append(harness.ConfigEnv(cfg), "OOF_FAILPOINT="+fp)
	logPath := filepath.Join(t.TempDir(), "oof.log")
	p, err := harness.StartProcess(bin, env, logPath, "-target=all")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(15 * time.Second); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			t.Logf("last lines of the oof log (failpoint %q):\n%s", fp, p.LogTail(30))
		}
	})
	readyCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := p.WaitReady(readyCtx, cfg.AdminAddr); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(cfg.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return p, conn
}

// The command process (here all of the platform in one process) is killed
// with SIGKILL at each step of a write while 8 clients send commands; after
// a restart without the failpoint, nothing acknowledged is lost, nothing
// unacknowledged is half-visible, and the read models equal the write model
// and a fresh replay.
func TestProcessKilledMidWriteLosesNothing(t *testing.T) {
	bin := oofBinary(t)
	cases := []struct {
		name string
		// failpoint kills the process at its N-th hit, well into the load
		// (the sign-in before the load relays 2 events); "" kills it at a
		// random moment while commands and the relay are busy.
		failpoint string
		// leavesUnpublished: the step dies with a committed event not yet
		// on Kafka (the restart must send it without any kick).
		leavesUnpublished bool
		// resends: the step dies after Kafka took events it had not yet
		// marked, so the restart sends them again (same ce_id).
		resends bool
	}{
		{name: "before commit", failpoint: failpoint.CommandBeforeCommit + "@120"},
		{name: "after commit", failpoint: failpoint.CommandAfterCommit + "@120", leavesUnpublished: true},
		{name: "relay before produce", failpoint: failpoint.RelayBeforeProduce + "@100", leavesUnpublished: true},
		{name: "relay after produce", failpoint: failpoint.RelayAfterProduce + "@100", leavesUnpublished: true, resends: true},
		{name: "random kill while relaying"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			unpublished, resent := crashAndRecover(t, bin, tc.failpoint)
			if tc.leavesUnpublished && unpublished == 0 {
				t.Errorf("no committed event was left unpublished by the kill at %q; the step was not exercised", tc.failpoint)
			}
			if tc.resends && resent == 0 {
				t.Errorf("no event was sent twice after the kill at %q; the step was not exercised", tc.failpoint)
			}
			t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// crashAndRecover runs the load until fp kills oof (or kills it at random if
// fp is ""), restarts it without failpoint and verifies the outcome. It
// returns how many committed events the kill left unpublished and how many
// records the log holds twice.
func crashAndRecover(t *testing.T, bin, fp string) (unpublishedAtKill, resent int) {
	ctx := testCtx(t, 3*time.Minute)
	e := newNamespace(t, ctx, infra)
	p, conn := startOof(t, ctx, e, bin, fp)
	dev := signInDeveloper(t, ctx, conn, e.Pool)

	l := startLoad(ctx, conn, dev, loadOptions{workers: 8, maxCommands: 1000})
	if fp == "" {
		killAtRandom(t, l, p)
	}
	select {
	case <-p.Exited():
	case <-l.done:
		t.Fatalf("the load ended (%s) and oof still runs: failpoint %q was never hit", l, fp)
	case <-ctx.Done():
		l.finish()
		t.Fatalf("oof still runs: %v", ctx.Err())
	}
	l.finish()
	if !p.KilledBySIGKILL() {
		t.Fatalf("oof ended by %s, not by SIGKILL; log:\n%s", p.ExitDescription(), p.LogTail(20))
	}
	acks, _ := l.outcomes()
	unpublishedAtKill = unpublished(t, ctx, e.Pool)
	t.Logf("killed at %q: %s; %d committed events not on Kafka", fp, l, unpublishedAtKill)
	if len(acks) == 0 {
		t.Fatal("nothing was acknowledged before the kill; the scenario proves nothing")
	}

	startOof(t, ctx, e, bin, "")
	return unpublishedAtKill, verifyRecovered(t, ctx, e, acks, true)
}

// killAtRandom waits until the load is well under way, then kills the
// process at a random moment: some commands are deciding, some waiting for
// the relay, some rows are on their way to Kafka.
func killAtRandom(t *testing.T, l *load, p *harness.Process) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for l.acked.Load() < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("load never got going: %s", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	p.Kill()
}
