package platform

import (
	"context"
	"time"

	"github.com/IBM/sarama"

	commandauth "github.com/oof-gg/platform/command/auth"
	commandgame "github.com/oof-gg/platform/command/game"
	"github.com/oof-gg/platform/command/kit"
	commandsession "github.com/oof-gg/platform/command/session"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/pkg/ratelimit"
	"github.com/oof-gg/platform/projector/games"
	"github.com/oof-gg/platform/projector/sessions"
	"github.com/oof-gg/platform/projector/trending"
	"github.com/oof-gg/platform/projector/users"
	queryauth "github.com/oof-gg/platform/query/auth"
	querygame "github.com/oof-gg/platform/query/game"
	queryops "github.com/oof-gg/platform/query/ops"
	querysession "github.com/oof-gg/platform/query/session"
)

// buildCommand assembles the command handlers and what they write with.
func (p *Platform) buildCommand(ctx context.Context, sec *security) error {
	ob, err := p.buildOutbox(ctx)
	if err != nil {
		return err
	}
	hasher, err := auth.NewPasswordHasher(p.cfg.PasswordHash)
	if err != nil {
		return err
	}
	waiter := projection.NewWaiter(p.infra.pool, p.log)
	p.waiter = waiter
	p.workers = append(p.workers, waiter.Run)

	rdb := p.infra.rdb
	svc := &commandauth.Service{
		Accounts:       commandauth.NewAccountStore(p.infra.pool),
		Hasher:         hasher,
		Issuer:         sec.issuer,
		Validator:      sec.validator,
		Refresh:        sec.refresh,
		Outbox:         ob,
		Waiter:         waiter,
		UserTopic:      p.cfg.Topic(TopicUser),
		LoginByAccount: ratelimit.New(rdb, sec.keys, "login-account", p.cfg.LoginLimitPerAccount, p.cfg.LoginLimitWindow),
		LoginByAddress: ratelimit.New(rdb, sec.keys, "login-address", p.cfg.LoginLimitPerAddress, p.cfg.LoginLimitWindow),
		RegisterByAddress: ratelimit.New(rdb, sec.keys, "register-address",
			p.cfg.RegisterLimitPerAddress, p.cfg.RegisterLimitWindow),
		Twitch:         commandauth.NewTwitchVerifier(p.cfg.TwitchValidateURL, p.cfg.TwitchClientIDs, nil),
		ProjectionWait: p.cfg.ProjectionWait,
		Now:            time.Now,
		Log:            p.log.With("component", "command/auth"),
	}
	commandauth.NewGRPC(svc, p.cfg.TrustProxyHeaders).Mount(p.services)

	store := aggregate.NewStore(p.infra.pool)
	p.workers = append(p.workers, p.pruneOutcomes(store))
	deps := kit.Deps{
		Store: store, Outbox: ob, Waiter: waiter,
		ProjectionWait: p.cfg.ProjectionWait, Now: time.Now, Log: p.log.With("component", "command"),
	}
	commandgame.NewGRPC(&commandgame.Handler{Deps: deps, Topic: p.cfg.Topic(TopicGame)}).Mount(p.services)
	commandsession.NewGRPC(&commandsession.Handler{Deps: deps, Topic: p.cfg.Topic(TopicSession), Quotas: p.cfg.Quotas,
		Games: aggregate.NewScopeCache(deps.Store, scopeCacheSize, scopeCacheTTL)}).Mount(p.services)
	p.cmdDeps = &deps
	p.mountJoinLeave(deps)
	p.mountEntityCommands(deps)
	p.mountPlayerCommands(deps)
	p.mountScoreCommands(deps)
	p.mountOps(svc, deps)
	return nil
}

// buildQuery assembles the query handlers.
func (p *Platform) buildQuery(sec *security) {
	queryauth.NewGRPC(sec.validator).Mount(p.services)
	querygame.NewGRPC(&querygame.Reader{
		Pool: p.infra.pool, Redis: p.infra.rdb, TrendingKey: p.trendingKey(),
		TrendingWindow: 7 * 24 * time.Hour, Now: time.Now,
	}).Mount(p.services)
	querysession.NewGRPC(&querysession.Reader{Pool: p.infra.pool}).Mount(p.services)
	p.mountEntityQueries()
	p.mountPlayerQueries()
	p.mountScoreQueries()
}

func (p *Platform) trendingKey() string { return p.cfg.RedisKeyPrefix + "trending:games" }

// projectors lists every projector of the platform.
func (p *Platform) projectors() []projection.Projector {
	list := []projection.Projector{
		users.New(p.cfg.Topic(TopicUser), p.personalKeys()),
		games.New(p.cfg.Topic(TopicGame)),
		sessions.New(p.cfg.Topic(TopicSession)),
		trending.New(p.cfg.Topic(TopicSession), p.infra.pool, p.infra.rdb, p.trendingKey(), p.log),
	}
	return append(list, p.extraProjectors()...)
}

// sharedClient lends a long-lived client to code that closes what it is
// given (Statuser opens a client per call for operators).
type sharedClient struct{ sarama.Client }

func (sharedClient) Close() error { return nil }

// buildProjectors starts one consumer-group runner per projector, each with
// its own Kafka client so one slow projector does not hold up another.
func (p *Platform) buildProjectors() error {
	deadLetters := projection.NewMetrics(p.registry, p.infra.pool, p.log)
	// The projectors' personal-key cache is used only while it listens
	// for erasures.
	keys := p.personalKeys()
	p.workers = append(p.workers, func(ctx context.Context) error { keys.Listen(ctx); return nil })
	// Consumer lag per projector and partition, as `oof status` computes
	// it, over the target's own Kafka client.
	lag := p.statuser()
	lag.Kafka = func() (sarama.Client, error) { return sharedClient{p.infra.kafka}, nil }
	p.registry.MustRegister(queryops.NewLagCollector(lag, p.log))
	for _, proj := range p.projectors() {
		client, err := newKafkaClient(p.cfg, "oof-projector-"+proj.Name())
		if err != nil {
			return err
		}
		opts := []projection.Option{projection.WithMetrics(deadLetters), projection.WithMaxAttempts(p.cfg.ProjectorMaxAttempts)}
		opts = append(opts, p.runnerOptions(proj)...)
		if p.waiter != nil { // commands in this process: tell their waiter directly
			opts = append(opts, projection.WithProgress(p.waiter.Advance))
		}
		if p.tracer != nil {
			opts = append(opts, projection.WithTrace(p.tracer.StartApply))
		}
		runner := projection.NewRunner(proj, p.infra.pool, client, p.cfg.ProjectorGroupPrefix, p.cfg.ProjectorBatchMax, p.log, opts...)
		p.workers = append(p.workers, func(ctx context.Context) error {
			defer client.Close()
			if t, ok := proj.(*trending.Projector); ok {
				if err := t.Sync(ctx); err != nil {
					p.log.Warn("trending sync at start failed", "err", err)
				}
			}
			return runner.Run(ctx)
		})
	}
	return nil
}
