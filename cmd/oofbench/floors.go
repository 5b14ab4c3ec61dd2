package main

// Floors: the same kind of work as a platform scenario, done by a minimal
// loop with no platform code, in the same run on the same infrastructure.
// Platform scenarios are judged as ratios to them, which stay meaningful on
// any machine and under any neighbour load that hits both alike.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/pkg/db"
	"github.com/oof-gg/platform/pkg/eventlog"
)

const (
	namePGFloor    = "pg insert+commit"
	nameKafkaFloor = "kafka produce acks=all"
	nameEmptyFloor = "empty unary RPC"
	nameReadFloor  = "empty RPC + one PostgreSQL point read"

	// floorRecordSize is about the size of a session or entity row/event.
	floorRecordSize = 200
	// floorTable is a scratch table in the bench's own database (dropped
	// with it); the read floor reads the rows the setup put there.
	floorTable = "oofbench_floor_rows"
)

// floorPool is a pool on the bench's database built like the platform's
// (pkg/db.Connect: same size and timeouts), with the scratch table.
func (b *bench) floorPool(ctx context.Context) (*pgxpool.Pool, error) {
	b.floorMu.Lock()
	defer b.floorMu.Unlock()
	if b.pool != nil {
		return b.pool, nil
	}
	pool, err := db.Connect(ctx, b.env.Cfg.PostgresURL, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+floorTable+` (id uuid PRIMARY KEY, body bytea NOT NULL)`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("scratch table: %w", err)
	}
	b.pool = pool
	b.closers = append(b.closers, pool.Close)
	return pool, nil
}

func floorRecord() []byte {
	body := make([]byte, floorRecordSize)
	_, _ = rand.Read(body)
	return body
}

// pgInsertFloor: each worker loops BEGIN; INSERT one row; COMMIT — the
// least a command's write-model transaction can cost.
func pgInsertFloor(b *bench) scenario {
	var pool *pgxpool.Pool
	body := floorRecord()
	return scenario{
		name:        namePGFloor,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			pool, err = b.floorPool(ctx)
			return err
		},
		op: func(ctx context.Context, _, _ int) error {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
			if _, err := tx.Exec(ctx, `INSERT INTO `+floorTable+` (id, body) VALUES ($1, $2)`, id, body); err != nil {
				return err
			}
			return tx.Commit(ctx)
		},
		goal: "— (floor)",
	}
}

// kafkaProduceFloor: each worker sends one record at a time through a
// sarama SyncProducer with the platform's producer settings (idempotent,
// acks=all), to a scratch topic under the bench's prefix.
func kafkaProduceFloor(b *bench) scenario {
	var producer sarama.SyncProducer
	var topic string
	body := floorRecord()
	return scenario{
		name:        nameKafkaFloor,
		concurrency: b.concurrency(32),
		setup: func(context.Context) error {
			cfg := b.env.Cfg
			topic = cfg.Topic("oofbench.floor")
			sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: cfg.KafkaBrokers, Version: cfg.KafkaVersion,
				ClientID: "oofbench-floor", ProduceTimeout: cfg.ProduceTimeout})
			if err != nil {
				return err
			}
			client, err := sarama.NewClient(cfg.KafkaBrokers, sc)
			if err != nil {
				return err
			}
			admin, err := sarama.NewClusterAdminFromClient(client)
			if err == nil {
				err = eventlog.EnsureTopics(admin, cfg.KafkaReplication,
					[]eventlog.TopicSpec{{Name: topic, Partitions: cfg.KafkaPartitions}})
			}
			if err == nil {
				producer, err = sarama.NewSyncProducerFromClient(client)
			}
			if err != nil {
				_ = client.Close()
				return err
			}
			b.closers = append(b.closers, func() { _ = producer.Close(); _ = client.Close() })
			return nil
		},
		op: func(_ context.Context, w, i int) error {
			_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic,
				Key: sarama.StringEncoder(fmt.Sprintf("w%d-%d", w, i%64)), Value: sarama.ByteEncoder(body)})
			return err
		},
		goal: "— (floor)",
	}
}

// emptyRPCFloor calls a method that does nothing on a server built like the
// platform's (internal/platform.NewBareServer: same interceptors).
func emptyRPCFloor(b *bench) scenario {
	var fc *floorClients
	return scenario{
		name:        nameEmptyFloor,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			fc, err = b.floorServer(ctx)
			return err
		},
		op:   func(ctx context.Context, w, _ int) error { return fc.empty(ctx, w) },
		goal: "— (floor)",
	}
}

// readRPCFloor: the same server, whose handler reads one row by primary
// key — what a query's handler minimally does.
func readRPCFloor(b *bench) scenario {
	var fc *floorClients
	var ids []string
	return scenario{
		name:        nameReadFloor,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			if fc, err = b.floorServer(ctx); err != nil {
				return err
			}
			pool, err := b.floorPool(ctx)
			if err != nil {
				return err
			}
			body := floorRecord()
			for range 200 { // as many rows as GetSession reads from
				id := uuid.Must(uuid.NewV7())
				if _, err := pool.Exec(ctx, `INSERT INTO `+floorTable+` (id, body) VALUES ($1, $2)`, id, body); err != nil {
					return err
				}
				ids = append(ids, id.String())
			}
			return nil
		},
		op: func(ctx context.Context, w, i int) error {
			n, err := fc.read(ctx, w, ids[(w*7+i)%len(ids)])
			if err == nil && n != floorRecordSize {
				err = errors.New("the row came back wrong")
			}
			return err
		},
		goal: "— (floor)",
	}
}
