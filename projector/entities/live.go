package entities

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/projection"
)

// The live copy of an entity is a Redis hash at Key with fields:
//
//	v  version of the committed state in s
//	s  the v1.api.game.Entity snapshot (as in the entities table)
//	p  "pending": the version of a change applied but maybe not committed
//
// Why p: commands wait until PostgreSQL has committed their event, but the
// copy is written only after that commit (AfterCommit). Apply marks p
// before the commit, and readers treat a copy with v < p as a miss and read
// PostgreSQL, so a client that got its command's answer never reads the
// copy's older state (read-your-writes). A failure to mark fails the batch,
// which is retried: a copy is never left looking current when it is not.
//
// Within a process, AfterCommit calls run one at a time, so a late mirror of
// an older state cannot land between a newer change's commit and its own
// mirror unnoticed (p still says the copy is behind). Across processes —
// two owners of a partition during a rebalance — a mirror that read an
// older committed row may still land after a delete removed the key and
// bring that copy back until liveTTL; removal is a DEL, not a tombstone.
const (
	FieldVersion  = "v"
	FieldSnapshot = "s"
	FieldPending  = "p"
)

// liveTTL bounds how long copies of entities nobody changes stay in Redis
// (e.g. of finished sessions); a read after expiry falls back to PostgreSQL.
const liveTTL = 24 * time.Hour

// Key is the Redis key of an entity's live copy. The session id is a hash
// tag, so a session's entities share a cluster slot.
func Key(prefix, sessionID, entityID string) string {
	return prefix + "entity:{" + sessionID + "}:" + entityID
}

// markScript raises p to ARGV[1] unless the copy is already at or past it
// (a replay after Reset).
var markScript = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local p = tonumber(redis.call('HGET', KEYS[1], 'p') or '0')
local n = tonumber(ARGV[1])
if v >= n or p >= n then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// mirrorScript writes committed state ARGV[1..2] unless the copy is newer;
// ARGV[3] = "1" means deleted: the copy is removed. p is cleared once the
// copy has caught up with it.
var mirrorScript = redis.NewScript(`
local n = tonumber(ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'v') or '0') > n then return 0 end
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) return 1 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2])
if tonumber(redis.call('HGET', KEYS[1], 'p') or '0') <= n then redis.call('HDEL', KEYS[1], 'p') end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

// BeforeBatch has nothing to do: what a batch wrote travels in its
// projection.BatchSlot.
func (p *Projector) BeforeBatch() {}

// AfterCommit copies into Redis the entity states the committed batch
// wrote (its BatchSlot), and any an earlier mirror failed to copy. They are
// committed states, so no read of PostgreSQL is needed; the mirror script
// keeps a newer copy (another owner of the partition during a rebalance).
func (p *Projector) AfterCommit(ctx context.Context) {
	if p.rdb == nil {
		return // PostgresOnly
	}
	p.mirrorMu.Lock()
	defer p.mirrorMu.Unlock()
	p.mu.Lock()
	if slot := projection.BatchSlotFrom(ctx); slot != nil {
		for _, v := range slot.Values() {
			c, ok := v.(committed)
			if t, seen := p.unmirrored[c.id]; ok && (!seen || c.version > t.version) {
				p.unmirrored[c.id] = c
			}
		}
	}
	ready := make([]committed, 0, len(p.unmirrored))
	for _, c := range p.unmirrored {
		ready = append(ready, c)
	}
	p.mu.Unlock()
	if len(ready) == 0 {
		return
	}
	if err := p.mirror(ctx, ready); err != nil {
		// The pending marks keep readers on PostgreSQL; the states stay
		// unmirrored, so the next batch's AfterCommit tries again.
		p.log.Warn("entities mirror to redis failed; will retry", "err", err)
	}
}

// committed is an entity state a committed batch wrote.
type committed struct {
	id, sessionID string
	version       int64
	deleted       bool
	snapshot      []byte
}

func (p *Projector) mirror(ctx context.Context, ready []committed) error {
	pipe := p.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ready))
	for i, c := range ready {
		deleted := "0"
		if c.deleted {
			deleted = "1"
		}
		cmds[i] = mirrorScript.Eval(ctx, pipe, []string{Key(p.prefix, c.sessionID, c.id)},
			c.version, c.snapshot, deleted, liveTTL.Milliseconds())
	}
	_, execErr := pipe.Exec(ctx)
	for i, c := range ready {
		if cmds[i].Err() != nil {
			continue
		}
		p.mu.Lock()
		if t, ok := p.unmirrored[c.id]; ok && t.version <= c.version {
			delete(p.unmirrored, c.id)
		}
		p.mu.Unlock()
	}
	if execErr != nil {
		return fmt.Errorf("write live copies: %w", execErr)
	}
	return nil
}
