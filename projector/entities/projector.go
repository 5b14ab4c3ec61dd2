// Package entities projects oof.entity.v1 into the entities table and keeps
// a live copy of every entity in Redis, which GetEntity reads first.
//
// PostgreSQL is the exactly-once side (applied with the offsets, version
// guarded); Redis is a mirror of what PostgreSQL committed. See live.go for
// how the mirror stays consistent with read-your-writes.
package entities

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
const Name = projector.Entities

// Projector maintains entities and its Redis copy.
type Projector struct {
	topic  string
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	log    *slog.Logger

	mu sync.Mutex
	// unmirrored holds committed states not yet in Redis (a mirror that
	// failed is tried again after the next batch).
	unmirrored map[string]committed

	// mirrorMu keeps AfterCommit calls (partitions run concurrently on this
	// one projector) one at a time.
	mirrorMu sync.Mutex
}

// The Redis copy is written after each batch commits.
var _ projection.BatchHooks = (*Projector)(nil)

// New returns a projector reading the full oof.entity.v1 topic name; prefix
// is the Redis key prefix of the platform. With rdb nil it writes the table
// only (PostgresOnly).
func New(entityTopic string, pool *pgxpool.Pool, rdb *redis.Client, prefix string, log *slog.Logger) *Projector {
	return &Projector{topic: entityTopic, pool: pool, rdb: rdb, prefix: prefix,
		log: log.With("projector", Name), unmirrored: map[string]committed{}}
}

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

// Reset empties the table but leaves the Redis copies: they cannot be
// listed cheaply on a shared server, and the replay cannot regress them
// (writes are version guarded) — copies of entities deleted in the log are
// removed again when the replay reaches the delete, and all expire (liveTTL).
func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	p.mu.Lock()
	p.unmirrored = map[string]committed{}
	p.mu.Unlock()
	if _, err := tx.Exec(ctx, `TRUNCATE entities`); err != nil {
		return fmt.Errorf("entities projector: reset: %w", err)
	}
	return nil
}

// Apply applies one entity event (see ApplyAll).
func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	return p.ApplyAll(ctx, tx, []projection.Event{{Env: env, Msg: msg}})
}
