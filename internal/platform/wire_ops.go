package platform

import (
	"sync"
	"time"

	"github.com/IBM/sarama"

	commandauth "github.com/oof-gg/platform/command/auth"
	"github.com/oof-gg/platform/command/kit"
	commandops "github.com/oof-gg/platform/command/ops"
	commandplayer "github.com/oof-gg/platform/command/player"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/pkg/projection"
	projglobal "github.com/oof-gg/platform/projector/global"
	projlive "github.com/oof-gg/platform/projector/live"
	queryops "github.com/oof-gg/platform/query/ops"
)

// Operators (docs/operations.md): oof.ops.v1 runs on the command target
// (pkg/routing): its writes are commands, and its one read (status) needs
// PostgreSQL, Redis (the live projector's offsets) and Kafka, which the
// command target reaches and the query target does not. The `oof admin`
// and `oof status` subcommands build the same commandops.Service offline
// (Operator.Ops).

// mountOps adds OpsService with the command side's auth service and deps.
func (p *Platform) mountOps(authSvc *commandauth.Service, deps kit.Deps) {
	commandops.NewGRPC(p.opsService(authSvc, deps)).Mount(p.services)
}

func (p *Platform) opsService(authSvc *commandauth.Service, deps kit.Deps) *commandops.Service {
	return &commandops.Service{
		Auth:    authSvc,
		Players: &commandplayer.Handler{Deps: deps, Topic: p.cfg.Topic(TopicPlayer), UserTopic: p.cfg.Topic(TopicUser)},
		Status:  p.statuser(),
		Matches: &queryops.Matches{Pool: p.infra.pool},
		Kafka:   func() (sarama.Client, error) { return newKafkaClient(p.cfg, "oof-ops") },
		Pool:    p.infra.pool,
		// A re-drive applies through projectors built as the CLI builds
		// them (Operator), once, on first use: the command target runs no
		// projector of its own, and those of -target=all keep running.
		Projectors: lookupIn(sync.OnceValue(p.projectors)),
	}
}

// lookupIn finds a projector by name in the list list returns.
func lookupIn(list func() []projection.Projector) projection.Lookup {
	return func(name string) (projection.Projector, bool) {
		for _, proj := range list() {
			if proj.Name() == name {
				return proj, true
			}
		}
		return nil, false
	}
}

// statuser reads every projector's offsets where its runner keeps them.
func (p *Platform) statuser() *queryops.Statuser {
	var consumers []queryops.Consumer
	for _, proj := range p.projectors() {
		consumers = append(consumers, queryops.Consumer{Name: proj.Name(), Topics: proj.Topics(), Offsets: p.offsetStoreOf(proj)})
	}
	return &queryops.Statuser{
		Pool: p.infra.pool, Consumers: consumers, Now: time.Now,
		Kafka: func() (sarama.Client, error) { return newKafkaClient(p.cfg, "oof-ops") },
	}
}

// offsetStoreOf is the offset store of a projector (runnerOptions,
// wire_live.go, uses it too): the live and global projectors keep their
// offsets in Redis, every other one in projector_offsets.
func (p *Platform) offsetStoreOf(proj projection.Projector) projection.OffsetStore {
	switch proj.(type) {
	case *projlive.Projector, *projglobal.Projector:
		return projection.RedisOffsets{Redis: p.infra.rdb, Prefix: p.cfg.RedisKeyPrefix}
	}
	return projection.PostgresOffsets{Pool: p.infra.pool}
}

// Ops builds the operator service for the CLI, without a server: its
// events go to the outbox (no relay in this process; a running command
// target's relay sends them within its 500 ms poll), and it does not wait
// for projectors.
func (o *Operator) Ops() (*commandops.Service, error) {
	p := o.p
	hasher, err := auth.NewPasswordHasher(p.cfg.PasswordHash)
	if err != nil {
		return nil, err
	}
	ob := outbox.New(p.infra.pool, nil, time.Now)
	log := p.log.With("component", "ops-cli")
	authSvc := &commandauth.Service{
		Accounts: commandauth.NewAccountStore(p.infra.pool), Hasher: hasher, Outbox: ob,
		UserTopic: p.cfg.Topic(TopicUser), Now: time.Now, Log: log,
	}
	deps := kit.Deps{Store: aggregate.NewStore(p.infra.pool), Outbox: ob, Now: time.Now, Log: log}
	svc := p.opsService(authSvc, deps)
	svc.Projectors = o.Projector // the ones `oof deadletters` uses
	return svc, nil
}

// Kafka opens a client to the platform's brokers (for `oof tail`).
func (o *Operator) Kafka() (sarama.Client, error) { return newKafkaClient(o.p.cfg, "oof-tail") }

// Topic is the full name of a platform topic (with the deployment prefix).
func (o *Operator) Topic(name string) string { return o.p.cfg.Topic(name) }
