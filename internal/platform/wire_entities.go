package platform

import (
	"time"

	commandentity "github.com/oof-gg/platform/command/entity"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector/entities"
	queryentity "github.com/oof-gg/platform/query/entity"
)

// Entities: CreateEntity/UpdateEntity/DeleteEntity (command), GetEntity
// (query) and their projector are wired here.

// The sessions entity changes are checked against, and the games sessions
// are opened in, are cached (each commit checks its copy did not change):
// a stream of such commands then costs no read of them per command. The
// bounds only limit memory held for ones nobody uses any more.
const (
	scopeCacheSize = 10_000
	scopeCacheTTL  = 5 * time.Minute
)

func (p *Platform) mountEntityCommands(deps kit.Deps) {
	commandentity.NewGRPC(&commandentity.Handler{Deps: deps, Topic: p.cfg.Topic(TopicEntity), Quotas: p.cfg.Quotas,
		Scopes: aggregate.NewScopeCache(deps.Store, scopeCacheSize, scopeCacheTTL)}).Mount(p.services)
}

func (p *Platform) mountEntityQueries() {
	queryentity.NewGRPC(&queryentity.Reader{
		Pool: p.infra.pool, Redis: p.infra.rdb, KeyPrefix: p.cfg.RedisKeyPrefix,
	}).Mount(p.services)
}

// entitiesProjector builds the entities table and its live Redis copy.
func (p *Platform) entitiesProjector() projection.Projector {
	return entities.New(p.cfg.Topic(TopicEntity), p.infra.pool, p.infra.rdb, p.cfg.RedisKeyPrefix, p.log)
}
