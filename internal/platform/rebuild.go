package platform

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/projection"
)

// Rebuild empties the named projector's read model and forgets its offsets,
// so the next run replays its topics from offset 0. Run it with the
// projector stopped.
func Rebuild(ctx context.Context, cfg config.Config, name string, log *slog.Logger) error {
	pool, err := connectPostgres(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	for _, proj := range Projectors(cfg) {
		if proj.Name() == name {
			if err := projection.Rebuild(ctx, pool, proj); err != nil {
				return err
			}
			log.Info("read model emptied; it will be rebuilt from the start", "projector", name)
			return nil
		}
	}
	return fmt.Errorf("no projector named %q", name)
}
