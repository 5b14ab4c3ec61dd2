package entities

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/projection"
)

// The live copies are a mirror of the entities table, so an online rebuild
// (`oof rebuild entities`) builds the table alone and copies it at the swap.
var _ projection.Mirrored = (*Projector)(nil)

// PostgresOnly is the projector writing the entities table alone: no
// pending marks, no live copies.
func (p *Projector) PostgresOnly() projection.Projector {
	return New(p.topic, p.pool, nil, p.prefix, p.log)
}

// resyncScript sets a copy to the committed state ARGV[1..2] with the TTL
// ARGV[3] (ms), whatever the copy held, or removes it when ARGV[3] is 0. A
// pending mark above the state stays: it belongs to a change not yet
// committed, whose own mirror clears it.
var resyncScript = redis.NewScript(`
if ARGV[3] == '0' then redis.call('DEL', KEYS[1]) return 1 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2])
if tonumber(redis.call('HGET', KEYS[1], 'p') or '0') <= tonumber(ARGV[1]) then redis.call('HDEL', KEYS[1], 'p') end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// resyncChunk is the rows per Redis pipeline.
const resyncChunk = 1000

// Resync makes every entity's live copy what the entities table (as tx
// reads it) says: the row's version and snapshot, expiring liveTTL after
// the row's last change as the live mirror's would; no copy for a deleted
// entity or one unchanged for longer than liveTTL (a reader takes the
// table). Each copy is replaced by one script, so a reader sees a copy's
// old state or its new one; a reader reads one entity, so there is no
// larger state to be seen half-built. Copies of ids the table lacks cannot
// be listed cheaply; they expire (liveTTL).
func (p *Projector) Resync(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id::text, session_id::text, version, deleted, snapshot, updated_at FROM entities`)
	if err != nil {
		return fmt.Errorf("entities resync: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	pipe := p.rdb.Pipeline()
	n := 0
	for rows.Next() {
		var id, session string
		var version int64
		var deleted bool
		var snap []byte
		var at time.Time
		if err := rows.Scan(&id, &session, &version, &deleted, &snap, &at); err != nil {
			return fmt.Errorf("entities resync: %w", err)
		}
		ttl := min(liveTTL-now.Sub(at), liveTTL).Milliseconds()
		if deleted || ttl <= 0 {
			ttl = 0
		}
		resyncScript.EvalSha(ctx, pipe, []string{Key(p.prefix, session, id)}, version, snap, ttl)
		if n++; n%resyncChunk == 0 {
			if err := p.sendResync(ctx, pipe); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("entities resync: %w", err)
	}
	return p.sendResync(ctx, pipe)
}

// sendResync sends a chunk, loading the script first (a Redis restarted
// meanwhile has none cached).
func (p *Projector) sendResync(ctx context.Context, pipe redis.Pipeliner) error {
	if pipe.Len() == 0 {
		return nil
	}
	if err := resyncScript.Load(ctx, p.rdb).Err(); err != nil {
		return fmt.Errorf("entities resync: %w", err)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("entities resync: %w", err)
	}
	return nil
}
