// Package scores projects oof.score.v1 into the score history (PostgreSQL
// table scores), each player's standing per board (score_boards, the
// exactly-once source) and the Redis sorted sets leaderboards are read from
// (a copy of score_boards that a sync can rebuild at any time).
//
// Exactly once: a submission's history row is keyed by its id, so a
// redelivered event inserts nothing and is skipped before it touches a
// board. The Redis copy is written inside the batch, before its commit, so
// when a command's wait for this projector ends (at the commit) the boards
// already show the score; every Redis write sets a standing computed from
// PostgreSQL (never increments), so writing it again on a retried batch
// changes nothing.
package scores

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name.
const Name = projector.Scores

// Projector maintains the score read models.
type Projector struct {
	topic  string
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	log    *slog.Logger

	// syncMu keeps a sync from interleaving with a batch's Redis writes in
	// this process.
	syncMu sync.RWMutex
}

// New returns a projector reading the full oof.score.v1 topic name. With
// rdb nil it writes PostgreSQL only (PostgresOnly).
func New(scoreTopic string, pool *pgxpool.Pool, rdb *redis.Client, redisPrefix string, log *slog.Logger) *Projector {
	return &Projector{topic: scoreTopic, pool: pool, rdb: rdb, prefix: redisPrefix, log: log}
}

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

// Reset empties the read models (PostgreSQL and the Redis copy) for a rebuild.
func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `TRUNCATE scores, score_boards, score_board_updates`); err != nil {
		return err
	}
	if p.rdb == nil {
		return nil
	}
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	return p.wipe(ctx)
}

// Apply applies one event.
func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	return p.ApplyAll(ctx, tx, []projection.Event{{Env: env, Msg: msg}})
}

var _ projection.CommitApplier = (*Projector)(nil)

// ApplyAll applies a batch on its own (not through the runner): all its
// statements run inside tx.
func (p *Projector) ApplyAll(ctx context.Context, tx pgx.Tx, events []projection.Event) error {
	return p.apply(ctx, tx, events, nil)
}

// ApplyAllCommit applies a batch for the runner, which sends the writes
// queued on commit with the batch's COMMIT: the boards' last-update rows,
// which every partition's batches update, are then locked only for that
// last round trip.
func (p *Projector) ApplyAllCommit(ctx context.Context, tx pgx.Tx, events []projection.Event, commit *pgx.Batch) error {
	return p.apply(ctx, tx, events, commit)
}

// apply: one round trip records the history and reads the touched
// standings (standings.go); the new standings are computed here; the
// batch's Redis writes go out in one pipeline; the PostgreSQL writes are
// queued on commit (or sent now when there is none).
func (p *Projector) apply(ctx context.Context, tx pgx.Tx, events []projection.Event, commit *pgx.Batch) error {
	subs, err := submissions(events)
	if err != nil || len(subs) == 0 {
		return err
	}
	fresh, old, err := loadBatch(ctx, tx, subs)
	if err != nil {
		return fmt.Errorf("scores projector: %w", err)
	}
	out := combineBatch(subs, fresh, old)
	if len(out.writes) == 0 {
		return nil
	}
	if p.rdb != nil {
		if err := p.mirror(ctx, out); err != nil {
			return err
		}
	}
	if commit != nil {
		queueSave(commit, out)
		return nil
	}
	b := &pgx.Batch{}
	queueSave(b, out)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("scores projector: %w", err)
	}
	return nil
}
