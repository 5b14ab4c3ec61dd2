package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/metadata"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	commandlive "github.com/oof-gg/platform/command/live"
	commandsession "github.com/oof-gg/platform/command/session"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/pkg/redisx"
	projlive "github.com/oof-gg/platform/projector/live"
	querylive "github.com/oof-gg/platform/query/live"
)

// Live events (docs/realtime.md): the stream target's gateway (command/live
// in, query/live out) and the projector that fans oof.live.v1 out into
// Redis streams are wired here.

// TopicLive carries live events, keyed by session id (docs/events.md).
const TopicLive = "oof.live.v1"

// buildStream assembles the stream target: the live event command, the
// hub and the streams on top of them.
func (p *Platform) buildStream(ctx context.Context, sec *security) error {
	client, err := newKafkaClient(p.cfg, "oof-live")
	if err != nil {
		return err
	}
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("kafka producer: %w", err)
	}
	producer := eventlog.NewProducer(p.tracer.WrapProducer(closingProducer{SyncProducer: sp, client: client}),
		p.cfg.ProduceTimeout, time.Now)
	// Every session with members here holds one blocking XREAD, so the
	// hub's reads get a pool of their own, sized for many sessions, and
	// never queue behind (or starve) the other Redis calls.
	hubRedis := redis.NewClient(&redis.Options{Addr: p.cfg.RedisAddr, PoolSize: 4096, MinIdleConns: 0})
	p.workers = append(p.workers, func(ctx context.Context) error {
		<-ctx.Done()
		_ = producer.Close()
		return hubRedis.Close()
	})
	finish, err := p.sessionFinisher(ctx)
	if err != nil {
		return err
	}
	pub := &commandlive.Publisher{
		Store: aggregate.NewStore(p.infra.pool), Producer: producer, Redis: p.infra.rdb,
		Keys: redisx.NewKeys(p.cfg.RedisKeyPrefix), Topic: p.cfg.Topic(TopicLive), Limits: p.cfg.Live,
		Finish: finish, Now: time.Now, Log: p.log.With("component", "command/live"),
	}
	hub := querylive.NewHub(hubRedis, p.cfg.RedisKeyPrefix, p.cfg.Live.Buffer, p.log.With("component", "query/live"))
	tracker := p.presenceTracker(pub)
	(&querylive.Streams{Hub: hub, Publisher: pub, Hook: tracker}).Mount(p.services)
	p.mountGlobal(producer, hubRedis, tracker)
	p.mountWebSocket(sec, hub, pub, tracker)
	// WatchQueue is a long-lived stream too (pkg/routing).
	p.mountWatchQueue()
	return nil
}

// sessionFinisher finishes a session through the session command (a game
// instance's TYPE_COMPLETION), with the command side's store, outbox and
// waiter: those of this process's commands, or the stream target's own.
func (p *Platform) sessionFinisher(ctx context.Context) (commandlive.Finisher, error) {
	if p.cmdDeps == nil {
		ob, err := p.buildOutbox(ctx)
		if err != nil {
			return nil, err
		}
		waiter := projection.NewWaiter(p.infra.pool, p.log)
		p.workers = append(p.workers, waiter.Run)
		p.cmdDeps = &kit.Deps{Store: aggregate.NewStore(p.infra.pool), Outbox: ob, Waiter: waiter,
			ProjectionWait: p.cfg.ProjectionWait, Now: time.Now, Log: p.log.With("component", "command")}
	}
	h := p.sessionHandler(*p.cmdDeps)
	return func(ctx context.Context, caller auth.Principal, sessionID, gameID string) error {
		// The command reads only its arguments: no metadata of the
		// stream (an expected version) reaches it.
		ctx = metadata.NewIncomingContext(auth.WithPrincipal(ctx, caller), metadata.MD{})
		_, _, err := h.Update(ctx, &gamepb.SessionUpdate{Id: sessionID, GameId: gameID,
			State: gamepb.GameState_STATE_FINISHED}, commandsession.UpdateOptions{})
		return err
	}, nil
}

// liveProjector fans oof.live.v1 out into the sessions' Redis streams.
func (p *Platform) liveProjector() projection.Projector {
	return projlive.New(p.cfg.Topic(TopicLive), p.infra.rdb, p.cfg.RedisKeyPrefix, p.cfg.Live.Window, p.cfg.Live.Expiry).
		WithRanges(p.infra.pool)
}

// runnerOptions are a projector's own runner options: the live and global
// projectors keep their offsets in Redis, beside their streams.
func (p *Platform) runnerOptions(proj projection.Projector) []projection.Option {
	if s, ok := p.offsetStoreOf(proj).(projection.RedisOffsets); ok { // one rule: wire_ops.go
		return []projection.Option{projection.WithOffsetStore(s)}
	}
	return nil
}
