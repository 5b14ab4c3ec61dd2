package integration

import (
	"testing"

	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/pkg/projection/projectiontest"
)

// One suite, every offset store the projection runner can use.
func TestOffsetStores(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		projectiontest.OffsetStore(t, func(*testing.T) projection.OffsetStore {
			return projection.PostgresOffsets{Pool: env.Pool}
		})
	})
	t.Run("redis", func(t *testing.T) {
		projectiontest.OffsetStore(t, func(*testing.T) projection.OffsetStore {
			return projection.RedisOffsets{Redis: env.Redis, Prefix: env.Cfg.RedisKeyPrefix}
		})
	})
}
