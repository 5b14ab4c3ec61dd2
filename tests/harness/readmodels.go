package harness

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/routing"
)

// ReadModelDumps are the projected tables and how to dump them comparably.
// Trending scores are sums of floats taken in a partition-interleaving
// order, so they are compared rounded.
var ReadModelDumps = map[string]string{
	"users":         `SELECT row_to_json(t)::text FROM users t ORDER BY id`,
	"games":         `SELECT row_to_json(t)::text FROM games t ORDER BY id`,
	"sessions":      `SELECT row_to_json(t)::text FROM sessions t ORDER BY id`,
	"match_history": `SELECT row_to_json(t)::text FROM match_history t ORDER BY session_id`,
	"entities":      `SELECT row_to_json(t)::text FROM entities t ORDER BY id`,
	"players":       `SELECT row_to_json(t)::text FROM players t ORDER BY id`,
	"game_trend":    `SELECT game_id || ' ' || round(log_score::numeric, 6) || ' ' || events FROM game_trend ORDER BY game_id`,
	// The score history and boards (docs/scores.md): a board's standings do
	// not depend on the order submissions arrive in, so they compare exactly.
	"scores":              `SELECT row_to_json(t)::text FROM scores t ORDER BY id`,
	"score_boards":        `SELECT row_to_json(t)::text FROM score_boards t ORDER BY board, player_id`,
	"score_board_updates": `SELECT row_to_json(t)::text FROM score_board_updates t ORDER BY board`,
}

// OffsetKey is one projector's position row.
type OffsetKey struct {
	Projector, Topic string
	Partition        int32
}

// ProjectorOffsets reads projector_offsets: the next offset each projector
// applies, per partition.
func ProjectorOffsets(ctx context.Context, pool *pgxpool.Pool) (map[OffsetKey]int64, error) {
	rows, err := pool.Query(ctx, `SELECT projector, topic, partition, next_offset FROM projector_offsets`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[OffsetKey]int64{}
	for rows.Next() {
		var k OffsetKey
		var next int64
		if err := rows.Scan(&k.Projector, &k.Topic, &k.Partition, &next); err != nil {
			return nil, err
		}
		out[k] = next
	}
	return out, rows.Err()
}

// TopicEnds returns the next offset of every partition of topic.
func TopicEnds(client sarama.Client, topic string) (map[int32]int64, error) {
	if err := client.RefreshMetadata(topic); err != nil {
		return nil, err
	}
	partitions, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	end := map[int32]int64{}
	for _, p := range partitions {
		if end[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return nil, err
		}
	}
	return end, nil
}

// positionsAtEnd reads pool's projector positions and names one that is
// behind its partition's end ("" if none is).
func (e *Env) positionsAtEnd(ctx context.Context, pool *pgxpool.Pool) (map[OffsetKey]int64, string, error) {
	got, err := ProjectorOffsets(ctx, pool)
	if err != nil {
		return nil, "", err
	}
	ends := map[string]map[int32]int64{}
	for k, next := range got {
		if ends[k.Topic] == nil {
			if ends[k.Topic], err = TopicEnds(e.Kafka, k.Topic); err != nil {
				return nil, "", err
			}
		}
		if end := ends[k.Topic][k.Partition]; next < end {
			return got, fmt.Sprintf("%s on %s/%d at %d of %d", k.Projector, k.Topic, k.Partition, next, end), nil
		}
	}
	return got, "", nil
}

// TableComparison is one read model, live and as a fresh replay built it.
type TableComparison struct {
	Table        string
	Live, Replay []string // rows as ReadModelDumps renders them
}

// Equal reports whether replay built exactly the live rows.
func (c TableComparison) Equal() bool { return slices.Equal(c.Live, c.Replay) }

// ReplayReadModels runs a fresh set of projectors (in this process) over
// every topic from offset 0 into an empty database, waits until they and the
// live projectors stand at the same positions, at the topics' ends, and
// returns each read model live and replayed, sorted by table. Nothing may
// write to the topics meanwhile. The replay's projectors stop at Stop.
func (e *Env) ReplayReadModels(ctx context.Context) ([]TableComparison, error) {
	url, err := e.CreateDatabase(ctx, "replay")
	if err != nil {
		return nil, err
	}
	cfg := e.Cfg
	cfg.PostgresURL = url
	cfg.ProjectorGroupPrefix = "replay" + RandomID(3) + "."
	cfg.RedisKeyPrefix = e.Cfg.RedisKeyPrefix + "replay:"
	// The personal-data keys are in the live database, with the commands'
	// write model: the replay opens the sealed e-mails with them.
	if err := platform.Prepare(ctx, cfg, e.Log); err != nil {
		return nil, err
	}
	if _, err := e.RunPlatform(ctx, cfg, routing.TargetProjector, platform.WithPersonalKeys(e.Pool)); err != nil {
		return nil, err
	}
	replay, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	defer replay.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The live projectors are waited for too: one that no command
		// waits on (trending) may still be behind.
		live, liveBehind, err := e.positionsAtEnd(ctx, e.Pool)
		if err != nil {
			return nil, err
		}
		got, behind, err := e.positionsAtEnd(ctx, replay)
		if err != nil {
			return nil, err
		}
		if liveBehind == "" && behind == "" && len(live) > 0 && maps.Equal(got, live) {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("replay positions %v never reached the live ones %v (live behind: %q, replay behind: %q)",
				got, live, liveBehind, behind)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var out []TableComparison
	for _, table := range slices.Sorted(maps.Keys(ReadModelDumps)) {
		c := TableComparison{Table: table}
		if c.Live, err = DumpRows(ctx, e.Pool, ReadModelDumps[table]); err != nil {
			return nil, err
		}
		if c.Replay, err = DumpRows(ctx, replay, ReadModelDumps[table]); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// DumpRows runs a query of one text column and returns its rows.
func DumpRows(ctx context.Context, pool *pgxpool.Pool, q string, args ...any) ([]string, error) {
	rows, err := pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ReadTopic returns every record of topic from its oldest offset up to its
// current end, partition by partition.
func ReadTopic(ctx context.Context, client sarama.Client, topic string) ([]*sarama.ConsumerMessage, error) {
	ends, err := TopicEnds(client, topic)
	if err != nil {
		return nil, err
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	var out []*sarama.ConsumerMessage
	for _, p := range slices.Sorted(maps.Keys(ends)) {
		start, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		end := ends[p]
		if end <= start {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, start)
		if err != nil {
			return nil, err
		}
		for last := start - 1; last < end-1; {
			select {
			case msg := <-pc.Messages():
				out = append(out, msg)
				last = msg.Offset
			case err := <-pc.Errors():
				_ = pc.Close()
				return nil, fmt.Errorf("read %s/%d: %w", topic, p, err)
			case <-ctx.Done():
				_ = pc.Close()
				return nil, fmt.Errorf("read %s/%d up to offset %d: at %d: %w", topic, p, end-1, last, ctx.Err())
			}
		}
		_ = pc.Close()
	}
	return out, nil
}
