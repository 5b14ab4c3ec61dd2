package main

// The relay floor of live events: the same hops as the platform's live
// pipeline with no platform code, at the same players × sessions × rate
// and fan-out, in the same run.
//
//	sender ─sarama SyncProducer (eventlog.NewSaramaConfig: idempotent, acks=all)─▶ scratch topic (key = session)
//	  ─▶ raw partition consumer ─▶ pipelined XADD <prefix>oofbench:relay:<session> MAXLEN ~ window
//	  ─▶ one XREAD BLOCK per session (a pool of its own) ─▶ plain TCP write to the members
//
// The members' TCP connections are -conns, like the bench's gRPC
// connections; a frame is the member's index, a length and the event.

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/eventlog"
)

const nameRelayFloor = "live relay (kafka→redis→tcp)"

// relay is the floor's running pipeline.
type relay struct {
	shape    rtShape
	tr       *rtTracker
	topic    string
	prefix   string
	producer sarama.SyncProducer
	cancel   context.CancelFunc // first thing stop does: nothing reports the closing as an error
	closers  []func()
	wg       sync.WaitGroup
	outs     []chan []byte // per TCP connection: frames to write
}

func relayFloor(b *bench) scenario {
	var r *relay
	return scenario{
		name:        nameRelayFloor,
		concurrency: *rtPlayers,
		setup: func(ctx context.Context) error {
			shape, err := rtShapeFromFlags()
			if err != nil {
				return err
			}
			r, err = startRelay(ctx, b, shape)
			return err
		},
		drive: func(ctx context.Context, start, from, until time.Time) driven {
			r.tr.start, r.tr.from, r.tr.until = start, from, until
			pad := strings.Repeat("x", floorRecordSize)
			var wg sync.WaitGroup
			for p := range r.shape.players {
				key := sarama.StringEncoder(strconv.Itoa(r.shape.session(p)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.tr.sendLoop(ctx, p, start, func(seq int, at time.Time) error {
						v := fmt.Sprintf("%d.%d.%d.%s", p, seq, at.UnixNano(), pad)
						_, _, err := r.producer.SendMessage(&sarama.ProducerMessage{Topic: r.topic, Key: key, Value: sarama.StringEncoder(v)})
						return err
					})
				}()
			}
			wg.Wait()
			r.tr.drain(ctx, liveDrain)
			r.stop()
			d, _ := r.tr.result("relay floor")
			return d
		},
		goal: "— (floor)",
	}
}

func (r *relay) stop() {
	r.cancel()
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
	r.wg.Wait()
}

// startRelay builds the pipeline back to front, so nothing sent is missed:
// TCP connections, session readers, partition consumers (at the newest
// offset, resolved before it returns), producer.
func startRelay(ctx context.Context, b *bench, shape rtShape) (r *relay, err error) {
	cfg := b.env.Cfg
	r = &relay{shape: shape, tr: newTracker(shape), topic: cfg.Topic("oofbench.relay"), prefix: cfg.RedisKeyPrefix + "oofbench:relay:"}
	var rctx context.Context
	rctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.closers = append(b.closers, r.stop)

	if err := r.startTCP(rctx, b.opts.conns); err != nil {
		return nil, err
	}

	// The reads block, so like the hub they get a pool of their own.
	reads := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, PoolSize: shape.sessions + 16})
	r.closers = append(r.closers, func() { _ = reads.Close() })
	for s := range shape.sessions {
		r.wg.Add(1)
		go r.readSession(rctx, reads, s)
	}

	sc, err := eventlog.NewSaramaConfig(eventlog.Options{Brokers: cfg.KafkaBrokers, Version: cfg.KafkaVersion,
		ClientID: "oofbench-relay", ProduceTimeout: cfg.ProduceTimeout})
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(cfg.KafkaBrokers, sc)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = client.Close() })
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, err
	}
	if err := eventlog.EnsureTopics(admin, cfg.KafkaReplication, []eventlog.TopicSpec{{Name: r.topic, Partitions: cfg.KafkaPartitions}}); err != nil {
		return nil, err
	}
	// The consumer gets a client of its own, as in the platform: a broker
	// answers one request per connection at a time, so a produce behind a
	// waiting fetch on a shared connection would wait for it.
	cclient, err := sarama.NewClient(cfg.KafkaBrokers, sc)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = cclient.Close() })
	consumer, err := sarama.NewConsumerFromClient(cclient)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = consumer.Close() })
	parts, err := cclient.Partitions(r.topic)
	if err != nil {
		return nil, err
	}
	for _, part := range parts {
		pc, err := consumePartition(ctx, cclient, consumer, r.topic, part)
		if err != nil {
			return nil, err
		}
		r.closers = append(r.closers, func() { _ = pc.Close() })
		go func() { // Consumer.Return.Errors is on in the platform's config
			for err := range pc.Errors() {
				r.tr.fail(fmt.Errorf("relay consume: %w", err))
			}
		}()
		r.wg.Add(1)
		go r.relayPartition(rctx, pc, int64(cfg.Live.Window), b.env.Redis)
	}
	r.producer, err = sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = r.producer.Close() })
	return r, nil
}

// relayPartition appends what one partition delivers to the sessions'
// Redis streams, one pipeline per batch of what is already there (as the
// live projector does per batch).
func (r *relay) relayPartition(ctx context.Context, pc sarama.PartitionConsumer, window int64, rdb *redis.Client) {
	defer r.wg.Done()
	for msg := range pc.Messages() {
		batch := []*sarama.ConsumerMessage{msg}
	more:
		for len(batch) < 256 {
			select {
			case m, ok := <-pc.Messages():
				if !ok {
					break more
				}
				batch = append(batch, m)
			default:
				break more
			}
		}
		pipe := rdb.Pipeline()
		for _, m := range batch {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: r.prefix + string(m.Key), MaxLen: window, Approx: true,
				ID: strconv.FormatInt(m.Offset+1, 10) + "-0", Values: []any{"e", m.Value}})
		}
		if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
			r.tr.fail(fmt.Errorf("relay xadd: %w", err))
		}
	}
}

// readSession follows one session's stream and hands each entry to every
// member's connection.
func (r *relay) readSession(ctx context.Context, rdb *redis.Client, s int) {
	defer r.wg.Done()
	key, last := r.prefix+strconv.Itoa(s), "0-0"
	members := r.shape.members(s)
	for ctx.Err() == nil {
		res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{key, last}, Block: 2 * time.Second, Count: 256}).Result()
		if err != nil {
			if err != redis.Nil && ctx.Err() == nil {
				r.tr.fail(fmt.Errorf("relay xread: %w", err))
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				v, _ := m.Values["e"].(string)
				for _, p := range members {
					frame := make([]byte, 8+len(v))
					binary.BigEndian.PutUint32(frame, uint32(p))
					binary.BigEndian.PutUint32(frame[4:], uint32(len(v)))
					copy(frame[8:], v)
					select {
					case r.outs[p%len(r.outs)] <- frame:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}
}

// startTCP opens n loopback connections: the far end of each writes
// frames, the near end reads them as the members.
func (r *relay) startTCP(ctx context.Context, n int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.closers = append(r.closers, func() { _ = ln.Close() })
	for range n {
		cli, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		srv, err := ln.Accept()
		if err != nil {
			_ = cli.Close()
			return err
		}
		r.closers = append(r.closers, func() { _ = cli.Close(); _ = srv.Close() })
		out := make(chan []byte, 4096)
		r.outs = append(r.outs, out)
		r.wg.Add(2)
		go r.writeConn(ctx, srv, out)
		go r.readConn(cli)
	}
	return nil
}

// writeConn writes frames, flushing whenever no more are waiting.
func (r *relay) writeConn(ctx context.Context, c net.Conn, out <-chan []byte) {
	defer r.wg.Done()
	w := bufio.NewWriterSize(c, 64<<10)
	for {
		select {
		case f := <-out:
			if _, err := w.Write(f); err != nil {
				return
			}
			if len(out) == 0 {
				if err := w.Flush(); err != nil {
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// readConn is the members' end: it records each frame for its member.
func (r *relay) readConn(c net.Conn) {
	defer r.wg.Done()
	rd := bufio.NewReaderSize(c, 64<<10)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			return
		}
		member := int(binary.BigEndian.Uint32(hdr[:]))
		body := make([]byte, binary.BigEndian.Uint32(hdr[4:]))
		if _, err := io.ReadFull(rd, body); err != nil {
			return
		}
		f := strings.SplitN(string(body), ".", 4)
		if len(f) < 3 || member >= r.shape.players {
			r.tr.fail(fmt.Errorf("malformed relay frame"))
			continue
		}
		p, err1 := strconv.Atoi(f[0])
		seq, err2 := strconv.Atoi(f[1])
		sent, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || p < 0 || p >= r.shape.players {
			r.tr.fail(fmt.Errorf("malformed relay frame"))
			continue
		}
		r.tr.got(member, p, seq, sent)
	}
}

// consumePartition starts a consumer at the newest offset, retrying while
// a just-created topic's partition has no leader the client knows of.
func consumePartition(ctx context.Context, client sarama.Client, consumer sarama.Consumer, topic string, part int32) (sarama.PartitionConsumer, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		pc, err := consumer.ConsumePartition(topic, part, sarama.OffsetNewest)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return pc, err
		}
		time.Sleep(200 * time.Millisecond)
		_ = client.RefreshMetadata(topic)
	}
}
