// Package platform wires the oof binary together: it connects the
// infrastructure a target needs, builds the components of the target, and runs
// them until shutdown. Nothing here holds global state; tests build a
// Platform in-process the same way main does.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/redisx"
	"github.com/oof-gg/platform/pkg/tracing"
)

// Topic names (before the configured prefix). Keep docs/events.md in step.
const (
	TopicUser    = "oof.user.v1"
	TopicGame    = "oof.game.v1"
	TopicSession = "oof.session.v1"
	TopicEntity  = "oof.entity.v1"
	TopicPlayer  = "oof.player.v1"
)

func topicSpecs(cfg config.Config) []eventlog.TopicSpec {
	var specs []eventlog.TopicSpec
	for _, t := range []string{TopicUser, TopicGame, TopicSession, TopicEntity, TopicPlayer, TopicGlobal} {
		specs = append(specs, eventlog.TopicSpec{Name: cfg.Topic(t), Partitions: cfg.KafkaPartitions})
	}
	// The live game events are the one high-volume topic: kept for
	// OOF_LIVE_RETENTION, not forever (docs/events.md). A match's replay
	// needs its live range within that window.
	specs = append(specs, eventlog.TopicSpec{Name: cfg.Topic(TopicLive), Partitions: cfg.KafkaPartitions, Retention: cfg.Live.Retention})
	specs = append(specs, eventlog.TopicSpec{Name: cfg.Topic(TopicMatchmaking), Partitions: cfg.KafkaPartitions})
	specs = append(specs, eventlog.TopicSpec{Name: cfg.Topic(TopicScore), Partitions: cfg.KafkaPartitions})
	return specs
}

// infra is the connections a target holds; nil members are not needed by it.
type infra struct {
	pool  *pgxpool.Pool
	rdb   *redis.Client
	kafka sarama.Client // admin and health; producers and consumers have their own
	// extraPools are components' own connection pools (the outbox relay's).
	extraPools []*pgxpool.Pool
	// tracer traces the statements and commands of the connections it
	// opens; nil (tracing off) adds nothing to them.
	tracer *tracing.Tracer
}

func (i *infra) close() {
	if i.kafka != nil {
		_ = i.kafka.Close()
	}
	if i.rdb != nil {
		_ = i.rdb.Close()
	}
	for _, p := range i.extraPools {
		p.Close()
	}
	if i.pool != nil {
		i.pool.Close()
	}
}

const connectTimeout = 10 * time.Second

// connect opens the connections of d, each checked to answer; what d does
// not list stays nil, so a target never depends on what it does not use.
func (i *infra) connect(ctx context.Context, cfg config.Config, d deps, kafkaClientID string) error {
	var err error
	if d.postgres {
		if i.pool, err = connectPostgres(ctx, cfg, db.WithTracer(i.tracer.PgxTracer())); err != nil {
			return err
		}
	}
	if d.redis {
		if i.rdb, err = connectRedis(ctx, cfg); err != nil {
			return err
		}
		if hook := i.tracer.RedisHook(); hook != nil {
			i.rdb.AddHook(hook)
		}
	}
	if d.kafka {
		if i.kafka, err = newKafkaClient(cfg, kafkaClientID); err != nil {
			return err
		}
	}
	return nil
}

func connectPostgres(ctx context.Context, cfg config.Config, opts ...db.Option) (*pgxpool.Pool, error) {
	return db.Connect(ctx, cfg.PostgresURL, connectTimeout, opts...)
}

func connectRedis(ctx context.Context, cfg config.Config) (*redis.Client, error) {
	return redisx.Connect(ctx, cfg.RedisAddr, connectTimeout)
}

func newKafkaClient(cfg config.Config, clientID string) (sarama.Client, error) {
	sc, err := eventlog.NewSaramaConfig(eventlog.Options{
		Brokers: cfg.KafkaBrokers, Version: cfg.KafkaVersion, ClientID: clientID, ProduceTimeout: cfg.ProduceTimeout,
	})
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(cfg.KafkaBrokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka %v: %w", cfg.KafkaBrokers, err)
	}
	return client, nil
}

// Prepare migrates the database and creates the Kafka topics: what
// -target=migrate does, and what -target=all does before it starts.
func Prepare(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	pool, err := connectPostgres(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool, log); err != nil {
		return err
	}
	client, err := newKafkaClient(cfg, "oof-migrate")
	if err != nil {
		return err
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	if err := eventlog.EnsureTopics(admin, cfg.KafkaReplication, topicSpecs(cfg)); err != nil {
		return err
	}
	log.Info("database migrated and topics ready")
	return nil
}
