// Package integration drives the platform over real gRPC against real
// PostgreSQL, Redis and Kafka (started by `make test`).
package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/tests/harness"
)

// env is the platform shared by the tests of this package; each test uses
// its own users, so they do not interfere.
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	in, err := harness.InfraFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err = harness.Start(ctx, in, func(c *config.Config) {
		c.RevocationCacheTTL = 50 * time.Millisecond
		// Not the defaults, so the quota tests (which read env.Cfg.Quotas)
		// also show the settings reach the handlers.
		c.Quotas = config.Quotas{OpenSessionsPerUser: 4, SessionReservePercent: 25, EntitiesPerSession: 600, EntityBytesPerSession: 4 << 20}
		// Short, so the matchmaking tests see tickets expire and smaller
		// sessions start within seconds.
		c.MatchTicketTTL = 4 * time.Second
		c.MatchMaxWait = time.Second
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start platform:", err)
		return 1
	}
	defer env.Stop()
	return m.Run()
}
