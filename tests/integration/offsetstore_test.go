package integration

import (
	"testing"
	"time"

	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/pkg/projection/projectiontest"
	"github.com/oof-gg/platform/tests/harness"
)

// One suite, every offset store the projection runner can use. The
// PostgreSQL store gets a database of its own: the suite's made-up topics
// must not show up among the shared environment's projector offsets.
func TestOffsetStores(t *testing.T) {
	ctx := testCtx(t)
	url, err := env.CreateDatabase(ctx, "offsets_"+harness.RandomID(3))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.Connect(ctx, url, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := db.Migrate(ctx, pool, env.Log); err != nil {
		t.Fatal(err)
	}
	t.Run("postgres", func(t *testing.T) {
		projectiontest.OffsetStore(t, func(*testing.T) projection.OffsetStore {
			return projection.PostgresOffsets{Pool: pool}
		})
	})
	t.Run("redis", func(t *testing.T) {
		projectiontest.OffsetStore(t, func(*testing.T) projection.OffsetStore {
			return projection.RedisOffsets{Redis: env.Redis, Prefix: env.Cfg.RedisKeyPrefix}
		})
	})
}
