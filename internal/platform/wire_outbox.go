package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/outbox"
)

// buildOutbox makes the command side's outbox and the relay that sends it to
// Kafka. The relay connects to Kafka by itself and keeps retrying, so the
// command target starts, and takes commands, while Kafka is away.
// One process has one relay (its metrics are registered once): a second
// caller (the stream target beside the command target) shares it.
func (p *Platform) buildOutbox(ctx context.Context) (*outbox.Outbox, error) {
	if p.outbox != nil {
		return p.outbox, nil
	}
	connect := func() (sarama.SyncProducer, error) {
		client, err := newKafkaClient(p.cfg, "oof-outbox-relay")
		if err != nil {
			return nil, err
		}
		sp, err := sarama.NewSyncProducerFromClient(client)
		if err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("kafka producer: %w", err)
		}
		// Traced (when tracing is on): a span per record sent.
		return p.tracer.WrapProducer(closingProducer{SyncProducer: sp, client: client}), nil
	}
	// The relay's own connections: under load commands hold the main
	// pool's, and the relay must not queue behind the work it unblocks.
	relayPool, err := db.ConnectSized(ctx, p.cfg.PostgresURL, 4, connectTimeout)
	if err != nil {
		return nil, err
	}
	p.infra.extraPools = append(p.infra.extraPools, relayPool)
	relay := outbox.NewRelay(relayPool, connect, p.log, outbox.RelayOptions{Registerer: p.registry})
	p.workers = append(p.workers, relay.Run)
	p.outbox = outbox.New(p.infra.pool, relay, time.Now)
	return p.outbox, nil
}

// pruneOutcomes forgets idempotency outcomes after a day: a client retries
// within minutes, and the table must not grow without bound.
func (p *Platform) pruneOutcomes(store *aggregate.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			if n, err := store.PruneOutcomes(ctx, 24*time.Hour); err != nil && ctx.Err() == nil {
				p.log.Warn("prune idempotency outcomes", "err", err)
			} else if n > 0 {
				p.log.Info("pruned idempotency outcomes", "rows", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}

// closingProducer closes its own client with the producer (a producer made
// from a client leaves the client open).
type closingProducer struct {
	sarama.SyncProducer
	client sarama.Client
}

func (c closingProducer) Close() error {
	err := c.SyncProducer.Close()
	if cerr := c.client.Close(); err == nil {
		err = cerr
	}
	return err
}
