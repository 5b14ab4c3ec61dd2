package platform

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/projection"
)

// Operator gives offline operator tools (-rebuild, `oof deadletters`) the
// platform's database and its projectors, built exactly as a projector
// target builds them but not running: no consumer group, no server.
type Operator struct {
	p          *Platform
	projectors []projection.Projector
	// stop ends the personal-key cache's listener.
	stop context.CancelFunc
}

// OpenOperator connects to PostgreSQL and Redis (the projectors that mirror
// into Redis need it to apply a record).
func OpenOperator(ctx context.Context, cfg config.Config, log *slog.Logger) (*Operator, error) {
	p := &Platform{cfg: cfg, log: log, infra: &infra{}}
	var err error
	if p.infra.pool, err = connectPostgres(ctx, cfg); err != nil {
		return nil, err
	}
	if p.infra.rdb, err = connectRedis(ctx, cfg); err != nil {
		p.infra.close()
		return nil, err
	}
	// Built once: projectors that mirror into Redis keep what a re-drive
	// touched until its commit.
	op := &Operator{p: p, projectors: p.projectors()}
	// A rebuild opens every sealed field: cache keys, told of erasures.
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	op.stop = stop
	go p.personalKeys().Listen(lctx)
	return op, nil
}

// Close releases the connections.
func (o *Operator) Close() {
	o.stop()
	o.p.infra.close()
}

// PersonalKeys opens sealed personal fields (`oof tail`).
func (o *Operator) PersonalKeys() *personal.Keys { return o.p.personalKeys() }

// Pool is the platform's database.
func (o *Operator) Pool() *pgxpool.Pool { return o.p.infra.pool }

// Projector finds one of the platform's projectors by name (a
// projection.Lookup).
func (o *Operator) Projector(name string) (projection.Projector, bool) {
	for _, proj := range o.projectors {
		if proj.Name() == name {
			return proj, true
		}
	}
	return nil, false
}

// Rebuild empties the named projector's read model and forgets its offsets,
// so the next run replays its topics from offset 0. Run it with the
// projector stopped.
func Rebuild(ctx context.Context, cfg config.Config, name string, log *slog.Logger) error {
	op, err := OpenOperator(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer op.Close()
	proj, ok := op.Projector(name)
	if !ok {
		return fmt.Errorf("no projector named %q", name)
	}
	if err := projection.Rebuild(ctx, op.Pool(), proj); err != nil {
		return err
	}
	log.Info("read model emptied; it will be rebuilt from the start", "projector", name)
	return nil
}
