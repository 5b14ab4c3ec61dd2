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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
)

// Name is the projector's name.
const Name = "entities"

// Projector maintains entities and its Redis copy.
type Projector struct {
	topic  string
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	log    *slog.Logger

	mu      sync.Mutex
	touched map[string]touch // entity id -> what must reach Redis

	// mirrorMu makes one AfterCommit's read-then-write atomic with respect
	// to another's (partitions run concurrently on this one projector).
	mirrorMu sync.Mutex
}

// The Redis copy is written after each batch commits.
var _ projection.BatchHooks = (*Projector)(nil)

// touch is an entity changed by an applied (maybe not yet committed) event.
type touch struct {
	sessionID string
	version   int64 // highest version applied
}

// New returns a projector reading the full oof.entity.v1 topic name; prefix
// is the Redis key prefix of the platform.
func New(entityTopic string, pool *pgxpool.Pool, rdb *redis.Client, prefix string, log *slog.Logger) *Projector {
	return &Projector{topic: entityTopic, pool: pool, rdb: rdb, prefix: prefix,
		log: log.With("projector", Name), touched: map[string]touch{}}
}

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

// Reset empties the table but leaves the Redis copies: they cannot be
// listed cheaply on a shared server, and the replay cannot regress them
// (writes are version guarded) — copies of entities deleted in the log are
// removed again when the replay reaches the delete, and all expire (liveTTL).
func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	p.mu.Lock()
	p.touched = map[string]touch{}
	p.mu.Unlock()
	if _, err := tx.Exec(ctx, `TRUNCATE entities`); err != nil {
		return fmt.Errorf("entities projector: reset: %w", err)
	}
	return nil
}

func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, _ eventlog.Envelope, msg proto.Message) error {
	var id, sessionID string
	var version, changed int64
	var err error
	switch e := msg.(type) {
	case *eventspb.EntityCreated:
		id, sessionID, version = e.GetEntity().GetId(), e.GetEntity().GetSessionId(), e.GetVersion()
		changed, err = p.upsert(ctx, tx, e.GetEntity(), version, e.GetCreatedAt().AsTime())
	case *eventspb.EntityUpdated:
		id, sessionID, version = e.GetEntity().GetId(), e.GetEntity().GetSessionId(), e.GetVersion()
		changed, err = p.upsert(ctx, tx, e.GetEntity(), version, e.GetUpdatedAt().AsTime())
	case *eventspb.EntityDeleted:
		id, sessionID, version = e.GetEntityId(), e.GetSessionId(), e.GetVersion()
		changed, err = p.markDeleted(ctx, tx, id, version, e.GetDeletedAt().AsTime())
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("entities projector: %w", err)
	}
	// Only a row this event changed needs mirroring; an event the row is
	// already past was mirrored by the batch that committed the newer state.
	if changed == 0 {
		return nil
	}
	return p.markPending(ctx, id, sessionID, version)
}

// upsert writes an entity's state unless the row is already at or past
// version; it returns how many rows changed.
func (p *Projector) upsert(ctx context.Context, tx pgx.Tx, e *gamepb.Entity, version int64, at time.Time) (int64, error) {
	snap, err := projection.Snapshot(e)
	if err != nil {
		return 0, fmt.Errorf("snapshot entity %s: %w", e.GetId(), err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO entities (id, session_id, game_id, version, deleted, snapshot, updated_at)
		VALUES ($1::uuid, $2::uuid, $3::uuid, $4, false, $5, $6)
		ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, snapshot = EXCLUDED.snapshot,
		  updated_at = EXCLUDED.updated_at
		WHERE entities.version < EXCLUDED.version AND NOT entities.deleted`,
		e.GetId(), e.GetSessionId(), e.GetGameId(), version, snap, at)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// markDeleted marks an entity deleted, keeping its last snapshot.
func (p *Projector) markDeleted(ctx context.Context, tx pgx.Tx, id string, version int64, at time.Time) (int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE entities SET deleted = true, version = $2, updated_at = $3
		WHERE id = $1::uuid AND version < $2`, id, version, at)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
