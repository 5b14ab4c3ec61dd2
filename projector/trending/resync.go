package trending

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/oof-gg/platform/pkg/projection"
)

// The sorted set is a copy of game_trend, so an online rebuild
// (`oof rebuild trending`) builds the table alone and copies it at the swap.
var _ projection.Mirrored = (*Projector)(nil)

// PostgresOnly is the projector writing game_trend alone.
func (p *Projector) PostgresOnly() projection.Projector {
	return New(p.topics[0], p.pool, nil, p.key, p.log)
}

// Resync replaces the sorted set with a copy of game_trend as tx reads it:
// the copy is built under another key and renamed over the set in one
// command, so a reader sees the old ranking or the whole new one. Unlike
// Sync it also lowers scores and drops games the table lacks.
func (p *Projector) Resync(ctx context.Context, tx pgx.Tx) error {
	p.mirrorMu.Lock()
	defer p.mirrorMu.Unlock()
	members, err := readScores(ctx, tx, `SELECT game_id::text, log_score FROM game_trend`)
	if err != nil {
		return fmt.Errorf("trending resync: %w", err)
	}
	if len(members) == 0 {
		return p.rdb.Del(ctx, p.key).Err()
	}
	tmp := p.key + ":rebuild"
	if err := p.rdb.Del(ctx, tmp).Err(); err != nil {
		return fmt.Errorf("trending resync: %w", err)
	}
	for start := 0; start < len(members); start += resyncChunk {
		chunk := members[start:min(start+resyncChunk, len(members))]
		if err := p.rdb.ZAdd(ctx, tmp, chunk...).Err(); err != nil {
			return fmt.Errorf("trending resync: %w", err)
		}
	}
	if err := p.rdb.Rename(ctx, tmp, p.key).Err(); err != nil {
		return fmt.Errorf("trending resync: %w", err)
	}
	return nil
}

// resyncChunk is the members per ZADD of a Resync.
const resyncChunk = 2000
