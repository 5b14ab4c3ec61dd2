package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	commandauth "github.com/oof-gg/platform/command/auth"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/pkg/ratelimit"
	"github.com/oof-gg/platform/projector/users"
	queryauth "github.com/oof-gg/platform/query/auth"
)

// buildCommand assembles the command handlers and what they write with.
func (p *Platform) buildCommand(sec *security) error {
	sp, err := sarama.NewSyncProducerFromClient(p.infra.kafka)
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	p.infra.producer = eventlog.NewProducer(sp, p.cfg.ProduceTimeout, time.Now)
	hasher, err := auth.NewPasswordHasher(p.cfg.PasswordHash)
	if err != nil {
		return err
	}
	waiter := projection.NewWaiter(p.infra.pool, p.log)
	p.workers = append(p.workers, waiter.Run)

	rdb := p.infra.rdb
	svc := &commandauth.Service{
		Accounts:       commandauth.NewAccountStore(p.infra.pool),
		Hasher:         hasher,
		Issuer:         sec.issuer,
		Validator:      sec.validator,
		Refresh:        sec.refresh,
		Events:         p.infra.producer,
		Waiter:         waiter,
		UserTopic:      p.cfg.Topic(TopicUser),
		LoginByAccount: ratelimit.New(rdb, sec.keys, "login-account", p.cfg.LoginLimitPerAccount, p.cfg.LoginLimitWindow),
		LoginByAddress: ratelimit.New(rdb, sec.keys, "login-address", p.cfg.LoginLimitPerAddress, p.cfg.LoginLimitWindow),
		Twitch:         commandauth.NewTwitchVerifier(p.cfg.TwitchValidateURL, p.cfg.TwitchClientIDs, nil),
		ProjectionWait: p.cfg.ProjectionWait,
		Now:            time.Now,
		Log:            p.log.With("component", "command/auth"),
	}
	commandauth.NewGRPC(svc, p.cfg.TrustProxyHeaders).Mount(p.services)
	return nil
}

// buildQuery assembles the query handlers.
func (p *Platform) buildQuery(sec *security) {
	queryauth.NewGRPC(sec.validator).Mount(p.services)
}

// Projectors lists every projector of the platform for cfg.
func Projectors(cfg interface{ Topic(string) string }) []projection.Projector {
	return []projection.Projector{
		users.New(cfg.Topic(TopicUser)),
	}
}

// buildProjectors starts one consumer-group runner per projector, each with
// its own Kafka client so one slow projector does not hold up another.
func (p *Platform) buildProjectors() error {
	for _, proj := range Projectors(p.cfg) {
		client, err := newKafkaClient(p.cfg, "oof-projector-"+proj.Name())
		if err != nil {
			return err
		}
		runner := projection.NewRunner(proj, p.infra.pool, client, p.cfg.KafkaTopicPrefix, p.cfg.ProjectorBatchMax, p.log)
		p.workers = append(p.workers, func(ctx context.Context) error {
			defer client.Close()
			return runner.Run(ctx)
		})
	}
	return nil
}
