package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
)

// `oof rebuild` (docs/operations.md, Rebuild): a projector's read model is
// built again from offset 0 into a shadow schema while the live tables keep
// answering, then swapped in by one transaction. Unlike -rebuild, nobody
// sees an empty read model.

// RebuildOptions adjust RebuildOnline.
type RebuildOptions struct {
	// BatchMax is the records per transaction (default RebuildBatchMax).
	BatchMax int
	// Pause is slept after every batch, to spare a busy database.
	Pause time.Duration
	// Restart drops a shadow left by an interrupted run instead of resuming it.
	Restart bool
	// Progress hears of every committed batch (and once per phase).
	Progress func(RebuildProgress)
}

// RebuildProgress is how far one projector's rebuild is.
type RebuildProgress struct {
	Projector   string
	Phase       string // "build", "catch-up" or "swap"
	Done, Total int64  // records applied / to apply in this run
}

// RebuildResult is what one projector's rebuild did.
type RebuildResult struct {
	Projector string
	Resumed   bool // a shadow from an interrupted run was continued
	Records   int64
	Tables    []TableSum
	Skipped   string // why the projector was not rebuilt ("all" only)
}

// TableSum is a table's row count and checksum before and after the swap.
type TableSum struct {
	Table            string
	OldRows, NewRows int64
	OldSum, NewSum   string
}

// Equal reports whether the rebuilt table holds exactly the old rows.
func (s TableSum) Equal() bool { return s.OldRows == s.NewRows && s.OldSum == s.NewSum }

// RebuildBatchMax is a rebuild's default records per transaction: larger
// than a live projector's (OOF_PROJECTOR_BATCH_MAX), since nobody waits for
// a rebuild's single records and fewer, larger transactions (with a
// BatchApplier's one write per row) are what keep it near Kafka's read rate.
const RebuildBatchMax = 5000

// errRedisMirror: a projector writing Redis keys readers use that it cannot
// derive from its tables (no projection.Mirrored) would show its shadow's
// half-built state there. -rebuild (offline) handles it.
var errRedisMirror = errors.New("mirrors its read model into Redis without a way to copy it from its tables; online rebuild cannot hide its half-built state (use -target=projector -rebuild=NAME with the projector stopped)")

// errFanOut: a DirectApplier's Redis streams are the events themselves,
// which players are sent as they are appended, not a copy of any table.
var errFanOut = errors.New("fans its records out into the Redis streams players receive, with no PostgreSQL read model to rebuild them from: replaying it would send its events to players again, so it is never rebuilt")

// RebuildOnline rebuilds the named projector, or every one that can be for
// "all", into a shadow schema and swaps it in.
func RebuildOnline(ctx context.Context, cfg config.Config, name string, opts RebuildOptions, log *slog.Logger) ([]RebuildResult, error) {
	op, err := OpenOperator(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer op.Close()
	if opts.BatchMax <= 0 {
		opts.BatchMax = RebuildBatchMax
	}
	var list []projection.Projector
	if name == "all" {
		list = op.projectors
	} else {
		proj, ok := op.Projector(name)
		if !ok {
			return nil, fmt.Errorf("no projector named %q", name)
		}
		if err := onlineRebuildable(proj); err != nil {
			return nil, fmt.Errorf("projector %s %w", name, err)
		}
		list = []projection.Projector{proj}
	}
	var results []RebuildResult
	for _, proj := range list {
		if err := onlineRebuildable(proj); err != nil {
			results = append(results, RebuildResult{Projector: proj.Name(), Skipped: err.Error()})
			continue
		}
		res, err := rebuildOne(ctx, cfg, op.Pool(), proj, opts, log)
		if err != nil {
			return results, fmt.Errorf("rebuild %s: %w", proj.Name(), err)
		}
		results = append(results, res)
	}
	return results, nil
}

// onlineRebuildable refuses projectors with a second store that a rebuild
// cannot keep from readers: the fan-outs, and projectors whose Apply, hooks
// or Sync write Redis keys readers use unless that Redis state is a copy of
// their tables (projection.Mirrored: built without it, copied at the swap).
func onlineRebuildable(proj projection.Projector) error {
	if _, ok := proj.(projection.DirectApplier); ok {
		return errFanOut
	}
	if _, ok := proj.(projection.Mirrored); ok {
		return nil
	}
	_, hooks := proj.(projection.BatchHooks)
	_, syncs := proj.(interface{ Sync(context.Context) error })
	if hooks || syncs {
		return errRedisMirror
	}
	return nil
}

// shadowBuilder is the projector that builds the shadow: a Mirrored one
// without its Redis side, which must not touch the keys readers use while
// the shadow is incomplete (not even in the Reset that prepareShadow runs
// to learn its tables); its copy is made at the swap.
func shadowBuilder(proj projection.Projector) projection.Projector {
	if m, ok := proj.(projection.Mirrored); ok {
		return m.PostgresOnly()
	}
	return proj
}

// shadowName is the projector's name for its offsets and dead letters while
// it builds into the shadow.
func shadowName(proj string) string { return proj + "@rebuild" }

func rebuildOne(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, proj projection.Projector, opts RebuildOptions, log *slog.Logger) (RebuildResult, error) {
	res := RebuildResult{Projector: proj.Name()}
	// One rebuild per projector at a time: a session lock, released by the
	// server if this process dies (kill -9 included).
	lockConn, err := pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer lockConn.Release()
	var locked bool
	if err := lockConn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, "oof-rebuild:"+proj.Name()).Scan(&locked); err != nil {
		return res, err
	}
	if !locked {
		return res, errors.New("another `oof rebuild` of this projector is running")
	}
	defer func() {
		_, _ = lockConn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, "oof-rebuild:"+proj.Name())
	}()

	build := shadowBuilder(proj)
	s, err := prepareShadow(ctx, pool, build, opts.Restart)
	if err != nil {
		return res, err
	}
	res.Resumed = s.resumed
	if s.resumed {
		log.Info("resuming the rebuild left by an interrupted run", "projector", proj.Name(), "schema", s.schema)
	}
	shadowPool, err := s.connect(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer shadowPool.Close()
	client, err := newRebuildClient(cfg, "oof-rebuild-"+proj.Name(), opts.BatchMax)
	if err != nil {
		return res, err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return res, err
	}
	defer consumer.Close()
	runner := projection.NewRunner(projection.Renamed(build, shadowName(proj.Name())), shadowPool, client, "",
		opts.BatchMax, log, projection.WithMaxAttempts(cfg.ProjectorMaxAttempts))
	b := &builder{runner: runner, consumer: consumer, opts: opts, proj: proj.Name()}

	// Phase 1: everything up to the ends captured now.
	ends, err := topicEnds(client, proj.Topics())
	if err != nil {
		return res, err
	}
	if err := b.run(ctx, "build", ends); err != nil {
		return res, err
	}
	b.report("durable")
	if err := s.makeDurable(ctx, pool); err != nil {
		return res, err
	}
	// Phase 2: what arrived meanwhile, without blocking anyone.
	if ends, err = topicEnds(client, proj.Topics()); err != nil {
		return res, err
	}
	if err := b.run(ctx, "catch-up", ends); err != nil {
		return res, err
	}
	// Phase 3: stop the live projector at its offsets, close the gap, swap.
	b.report("swap")
	res.Tables, err = s.swap(ctx, pool, proj, b)
	res.Records = b.done
	if err != nil {
		return res, err
	}
	log.Info("read model rebuilt and swapped in", "projector", proj.Name(), "records", b.done)
	return res, nil
}

// newRebuildClient is the platform's Kafka client with room for a whole
// batch per partition: CatchUp takes what is buffered, so the buffer (256
// by default) would cap every transaction, and larger fetches keep it full
// while the previous batch is applied.
func newRebuildClient(cfg config.Config, clientID string, batch int) (sarama.Client, error) {
	sc, err := eventlog.NewSaramaConfig(eventlog.Options{
		Brokers: cfg.KafkaBrokers, Version: cfg.KafkaVersion, ClientID: clientID, ProduceTimeout: cfg.ProduceTimeout,
	})
	if err != nil {
		return nil, err
	}
	sc.ChannelBufferSize = max(sc.ChannelBufferSize, batch)
	sc.Consumer.Fetch.Default = 4 << 20
	client, err := sarama.NewClient(cfg.KafkaBrokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka %v: %w", cfg.KafkaBrokers, err)
	}
	return client, nil
}

// partitionKey names a topic's partition.
type partitionKey struct {
	topic     string
	partition int32
}

func topicEnds(client sarama.Client, topics []string) (map[partitionKey]int64, error) {
	ends := map[partitionKey]int64{}
	for _, topic := range topics {
		parts, err := client.Partitions(topic)
		if err != nil {
			return nil, fmt.Errorf("partitions of %s: %w", topic, err)
		}
		for _, p := range parts {
			end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return nil, fmt.Errorf("end offset of %s/%d: %w", topic, p, err)
			}
			ends[partitionKey{topic, p}] = end
		}
	}
	return ends, nil
}

// builder applies ranges of the projector's partitions to the shadow and
// counts them for the progress report.
type builder struct {
	runner   *projection.Runner
	consumer sarama.Consumer
	opts     RebuildOptions
	proj     string

	mu          sync.Mutex // partitions are applied concurrently
	phase       string
	done, total int64
}

func (b *builder) report(phase string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reportLocked(phase)
}

func (b *builder) reportLocked(phase string) {
	b.phase = phase
	if b.opts.Progress != nil {
		b.opts.Progress(RebuildProgress{Projector: b.proj, Phase: phase, Done: b.done, Total: b.total})
	}
}

// rebuildPartitionsAtOnce bounds how many partitions a rebuild applies
// concurrently.
const rebuildPartitionsAtOnce = 8

// run applies every partition up to its entry in until, several at once
// (as the live projector's consumer group does): one partition's decoding
// overlaps another's database round trip.
func (b *builder) run(ctx context.Context, phase string, until map[partitionKey]int64) error {
	for k, end := range until {
		from, err := b.runner.Position(ctx, k.topic, k.partition)
		if err != nil {
			return err
		}
		b.total += max(0, end-from)
	}
	b.report(phase)
	g, gctx := errgroup.WithContext(ctx)
	// Bounded: each partition in flight holds a batch and a 4 MiB fetch.
	g.SetLimit(rebuildPartitionsAtOnce)
	for k, end := range until {
		g.Go(func() error {
			return b.runner.CatchUp(gctx, b.consumer, k.topic, k.partition, end, func(n int) {
				b.mu.Lock()
				b.done += int64(n)
				b.reportLocked(phase)
				b.mu.Unlock()
				if b.opts.Pause > 0 {
					time.Sleep(b.opts.Pause)
				}
			})
		})
	}
	return g.Wait()
}

// isRetryableSwap: the swap lost a race with the live projector (a
// deadlock, or a partition it started meanwhile); it is simply tried again.
func isRetryableSwap(err error) bool {
	return errors.Is(err, errNewPartition) || projection.IsTransient(err)
}

var errNewPartition = errors.New("the live projector started a new partition during the swap")

// beginSwap opens the swap transaction with the live projector's offset
// rows locked, so its next batch waits until the swap commits.
func beginSwap(ctx context.Context, pool *pgxpool.Pool, name string) (pgx.Tx, map[partitionKey]int64, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	// The DROP of a live table queues every new reader behind it: if a long
	// read holds it up, give up (55P03, retried) rather than stall reads.
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
		_ = tx.Rollback(ctx)
		return nil, nil, err
	}
	live, err := liveOffsets(ctx, tx, name, true)
	if err != nil {
		_ = tx.Rollback(ctx)
		return nil, nil, err
	}
	return tx, live, nil
}

func liveOffsets(ctx context.Context, tx pgx.Tx, name string, lock bool) (map[partitionKey]int64, error) {
	q := `SELECT topic, partition, next_offset FROM projector_offsets WHERE projector = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	rows, err := tx.Query(ctx, q, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	live := map[partitionKey]int64{}
	for rows.Next() {
		var k partitionKey
		var next int64
		if err := rows.Scan(&k.topic, &k.partition, &next); err != nil {
			return nil, err
		}
		live[k] = next
	}
	return live, rows.Err()
}
