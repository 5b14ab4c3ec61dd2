package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/personal"
	queryops "github.com/oof-gg/platform/query/ops"
)

const tailUsage = `usage:
  oof tail TOPIC [-from=oldest|newest|OFFSET|TIME] [-type=NAME[,NAME...]] [-f]
      print the records of TOPIC (e.g. oof.user.v1; the deployment's
      OOF_KAFKA_TOPIC_PREFIX is added when missing) as JSON lines: position,
      key, CloudEvents headers and the event decoded by its ce_type.
      -from: oldest (default), newest, an offset (in every partition) or an
      RFC 3339 time; -type: only these event types (full or short names);
      -f: keep following new records (otherwise stop at the current end).

Connects with the same OOF_* variables as the platform.`

// tail runs `oof tail`.
func tail(args []string, _ io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	from := fs.String("from", "oldest", "oldest, newest, an offset or an RFC 3339 time")
	types := fs.String("type", "", "comma-separated event types")
	follow := fs.Bool("f", false, "follow new records")
	rest, err := parseInterleaved(fs, args)
	if err == nil && len(rest) != 1 {
		err = fmt.Errorf("give one TOPIC")
	}
	if err != nil {
		return cliUsageError{err.Error(), tailUsage}
	}
	start, err := parseFrom(*from)
	if err != nil {
		return cliUsageError{err.Error(), tailUsage}
	}
	var filter queryops.TypeFilter
	for _, t := range strings.Split(*types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			filter = append(filter, t)
		}
	}
	return withOperator(func(ctx context.Context, op *platform.Operator) error {
		topic := rest[0]
		if prefix := strings.TrimSuffix(op.Topic("x"), "x"); !strings.HasPrefix(topic, prefix) {
			topic = prefix + topic
		}
		client, err := op.Kafka()
		if err != nil {
			return err
		}
		defer client.Close()
		return tailTopic(ctx, client, topic, start, filter, *follow, op.PersonalKeys(), stdout)
	})
}

// startAt is where each partition starts: a sarama position, an offset, or
// the first record at or after a time.
type startAt struct {
	offset int64 // sarama.OffsetOldest/OffsetNewest or an offset
	at     time.Time
}

func parseFrom(s string) (startAt, error) {
	switch s {
	case "oldest", "beginning", "":
		return startAt{offset: sarama.OffsetOldest}, nil
	case "newest", "end":
		return startAt{offset: sarama.OffsetNewest}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return startAt{offset: n}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return startAt{at: t}, nil
	}
	return startAt{}, fmt.Errorf("-from %q: want oldest, newest, an offset or an RFC 3339 time", s)
}

// tailTopic prints the records; keys reveals their personal fields as the
// read models show them (opened, or "" once erased).
func tailTopic(ctx context.Context, client sarama.Client, topic string, start startAt, filter queryops.TypeFilter, follow bool, keys *personal.Keys, w io.Writer) error {
	parts, err := client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("topic %s: %w", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	defer consumer.Close()
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range parts {
		g.Go(func() error {
			oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
			if err != nil {
				return err
			}
			end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return err
			}
			first := start.offset
			switch {
			case !start.at.IsZero():
				if first, err = client.GetOffset(topic, p, start.at.UnixMilli()); err != nil {
					return err
				}
				if first < 0 { // no record at or after the time
					first = end
				}
			case first == sarama.OffsetOldest:
				first = oldest
			case first == sarama.OffsetNewest:
				first = end
			case first < oldest:
				first = oldest
			case first > end:
				first = end
			}
			if !follow && first >= end {
				return nil
			}
			pc, err := consumer.ConsumePartition(topic, p, first)
			if err != nil {
				return err
			}
			defer pc.Close()
			for {
				select {
				case <-gctx.Done():
					return nil
				case m := <-pc.Messages():
					line := queryops.DecodeRevealed(gctx, m, keys)
					if filter.Match(line.Type) {
						mu.Lock()
						err := enc.Encode(line)
						mu.Unlock()
						if err != nil {
							return err
						}
					}
					if !follow && m.Offset >= end-1 {
						return nil
					}
				case err := <-pc.Errors():
					return err
				}
			}
		})
	}
	return g.Wait()
}
