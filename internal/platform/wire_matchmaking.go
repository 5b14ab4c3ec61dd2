package platform

import (
	"context"
	"time"

	"github.com/oof-gg/platform/command/kit"
	cmdmatch "github.com/oof-gg/platform/command/matchmaking"
	commandsession "github.com/oof-gg/platform/command/session"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/projection"
	querymatch "github.com/oof-gg/platform/query/matchmaking"
	querysession "github.com/oof-gg/platform/query/session"
)

// Joining and matchmaking (docs/realtime.md): JoinLeave (command), WatchQueue
// (query) and the matchmaker worker (-target=matchmaker, also in all).

// TopicMatchmaking carries the tickets' lifecycle events (docs/events.md).
const TopicMatchmaking = "oof.matchmaking.v1"

func (p *Platform) tickets() *cmdmatch.Tickets {
	return &cmdmatch.Tickets{Redis: p.infra.rdb, Prefix: p.cfg.RedisKeyPrefix, TTL: p.cfg.MatchTicketTTL, Now: time.Now}
}

func (p *Platform) sessionHandler(deps kit.Deps) *commandsession.Handler {
	return &commandsession.Handler{Deps: deps, Topic: p.cfg.Topic(TopicSession), Quotas: p.cfg.Quotas,
		Games: aggregate.NewScopeCache(deps.Store, scopeCacheSize, scopeCacheTTL)}
}

// mountJoinLeave serves JoinLeave: by session id through the session
// command, without one through the queue.
func (p *Platform) mountJoinLeave(deps kit.Deps) {
	queue := &cmdmatch.Queue{Tickets: p.tickets(), Store: deps.Store, Outbox: deps.Outbox, Topic: p.cfg.Topic(TopicMatchmaking)}
	cmdmatch.NewGRPC(p.sessionHandler(deps), queue).Mount(p.services)
}

func (p *Platform) mountWatchQueue() {
	querymatch.NewGRPC(&querymatch.Watcher{Tickets: p.tickets(), Sessions: &querysession.Reader{Pool: p.infra.pool}}).Mount(p.services)
}

// buildMatchmaker adds the matchmaker worker. It creates sessions through
// the session command, so it needs the command side's store, outbox and
// waiter: those of this process's commands, or its own.
func (p *Platform) buildMatchmaker(ctx context.Context) error {
	if p.cmdDeps == nil {
		ob, err := p.buildOutbox(ctx)
		if err != nil {
			return err
		}
		waiter := projection.NewWaiter(p.infra.pool, p.log)
		p.workers = append(p.workers, waiter.Run)
		p.cmdDeps = &kit.Deps{Store: aggregate.NewStore(p.infra.pool), Outbox: ob, Waiter: waiter,
			ProjectionWait: p.cfg.ProjectionWait, Now: time.Now, Log: p.log.With("component", "matchmaker")}
	}
	deps := *p.cmdDeps
	m := &cmdmatch.Matchmaker{
		Tickets: p.tickets(), Sessions: p.sessionHandler(deps), Outbox: deps.Outbox,
		Topic: p.cfg.Topic(TopicMatchmaking), MaxWait: p.cfg.MatchMaxWait,
		Log: p.log.With("component", "matchmaker"),
	}
	p.workers = append(p.workers, m.Run)
	return nil
}
