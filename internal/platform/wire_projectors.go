package platform

import "github.com/oof-gg/platform/pkg/projection"

// extraProjectors are the projectors of the entity and player features
// (entities: a PostgreSQL read model plus a live Redis copy; players) and
// the live and global events' Redis streams.
func (p *Platform) extraProjectors() []projection.Projector {
	return []projection.Projector{p.playersProjector(), p.entitiesProjector(), p.liveProjector(), p.scoresProjector(),
		p.globalProjector()}
}
