package platform

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	commandglobal "github.com/oof-gg/platform/command/global"
	commandlive "github.com/oof-gg/platform/command/live"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/pkg/redisx"
	projglobal "github.com/oof-gg/platform/projector/global"
	queryglobal "github.com/oof-gg/platform/query/global"
	"github.com/oof-gg/platform/query/presence"
)

// Global events and presence (docs/realtime.md): GlobalService.StreamEvents
// (command/global in, query/global out), the projector that fans
// oof.global.v1 out into a Redis stream, and the presence tracker hooked
// into the live streams are wired here.

// TopicGlobal carries global events, under one key (docs/events.md).
const TopicGlobal = "oof.global.v1"

// mountGlobal adds GlobalService.StreamEvents to the stream target, on the
// stream target's producer and hub Redis pool; its clients count as online.
func (p *Platform) mountGlobal(producer *eventlog.Producer, hubRedis *redis.Client, online *presence.Tracker) {
	pub := &commandglobal.Publisher{
		Producer: producer, Redis: p.infra.rdb, Keys: redisx.NewKeys(p.cfg.RedisKeyPrefix),
		Topic: p.cfg.Topic(TopicGlobal), MaxBytes: p.cfg.Live.MaxEventBytes, Now: time.Now,
	}
	hub := queryglobal.NewHub(hubRedis, p.cfg.RedisKeyPrefix, p.cfg.Live.Buffer, p.log.With("component", "query/global"))
	(&queryglobal.Stream{Hub: hub, Publisher: pub, Online: online, Now: time.Now}).Mount(p.services)
}

// presenceTracker keeps the live streams' presence, announcing changes
// through the live command; its sweep runs as a worker of the target.
func (p *Platform) presenceTracker(pub *commandlive.Publisher) *presence.Tracker {
	t := presence.New(p.infra.rdb, p.cfg.RedisKeyPrefix, p.cfg.Live.PresenceTTL,
		func(ctx context.Context, ev *gamepb.GameEvent) error {
			_, err := pub.PublishSystem(ctx, ev)
			return err
		}, p.log.With("component", "query/presence"))
	p.workers = append(p.workers, t.Run)
	return t
}

// globalProjector fans oof.global.v1 out into the global Redis stream.
func (p *Platform) globalProjector() projection.Projector {
	return projglobal.New(p.cfg.Topic(TopicGlobal), p.infra.rdb, p.cfg.RedisKeyPrefix, p.cfg.Live.Window, p.cfg.Live.Expiry)
}
