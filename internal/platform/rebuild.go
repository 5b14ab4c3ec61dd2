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
	p := &Platform{cfg: cfg, log: log, infra: &infra{}}
	defer p.infra.close()
	var err error
	if p.infra.pool, err = connectPostgres(ctx, cfg); err != nil {
		return err
	}
	if p.infra.rdb, err = connectRedis(ctx, cfg); err != nil {
		return err
	}
	for _, proj := range p.projectors() {
		if proj.Name() == name {
			if err := projection.Rebuild(ctx, p.infra.pool, proj); err != nil {
				return err
			}
			log.Info("read model emptied; it will be rebuilt from the start", "projector", name)
			return nil
		}
	}
	return fmt.Errorf("no projector named %q", name)
}
