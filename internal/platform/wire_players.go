package platform

import (
	"log/slog"

	"github.com/oof-gg/platform/command/kit"
	commandplayer "github.com/oof-gg/platform/command/player"
	"github.com/oof-gg/platform/pkg/personal"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector/players"
	queryplayer "github.com/oof-gg/platform/query/player"
)

// Players: CreatePlayer/UpdatePlayer (command), GetPlayer (query) and their
// projector are wired here.

// mountPlayerCommands: player writes run their own transaction on the pool
// (they also change auth_accounts on a role change), and publish on the
// user topic too (UserRoleChanged).
func (p *Platform) mountPlayerCommands(deps kit.Deps) {
	commandplayer.NewGRPC(&commandplayer.Handler{
		Deps: deps, Topic: p.cfg.Topic(TopicPlayer), UserTopic: p.cfg.Topic(TopicUser),
	}).Mount(p.services)
}

func (p *Platform) mountPlayerQueries() {
	queryplayer.NewGRPC(&queryplayer.Reader{Pool: p.infra.pool}).Mount(p.services)
}

// playersProjector builds the players read model from oof.player.v1.
func (p *Platform) playersProjector() projection.Projector {
	return players.New(p.cfg.Topic(TopicPlayer), p.personalKeys())
}

// personalKeys is the process's one reader of personal-data keys
// (docs/events.md, "Personal data"), shared by the projectors so they
// share its cache.
func (p *Platform) personalKeys() *personal.Keys {
	if p.keys == nil {
		log := p.log
		if log == nil {
			log = slog.Default()
		}
		pool := p.keysPool
		if pool == nil {
			pool = p.infra.pool
		}
		p.keys = personal.NewKeys(pool, log.With("component", "personal-keys"))
	}
	return p.keys
}
