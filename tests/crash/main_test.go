// Package crash proves the transactional outbox against real failures: the
// oof binary killed with SIGKILL at each step of a write (and at a random
// moment) under concurrent load, and Kafka stopped under load. After
// recovery, every acknowledged command is on the log exactly once (by
// CloudEvents id), the write model and the log agree exactly, and the read
// models equal the write model and a fresh replay.
package crash

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/oof-gg/platform/tests/harness"
)

var (
	infra    harness.Infra
	buildDir string

	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if infra, err = harness.InfraFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "crash tests:", err)
		return 1
	}
	if buildDir, err = os.MkdirTemp("", "oof-crash-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, "crash tests:", err)
		return 1
	}
	defer os.RemoveAll(buildDir)
	return m.Run()
}

// oofBinary builds cmd/oof once per test binary run.
func oofBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		binPath, buildErr = harness.BuildBinary(ctx, buildDir)
		t.Logf("built oof in %s", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// newNamespace makes a fresh database, topic prefix and Redis prefix for one
// scenario, so its write model and its topics hold only what it did.
func newNamespace(t *testing.T, ctx context.Context, in harness.Infra) *harness.Env {
	t.Helper()
	e, err := harness.New(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
