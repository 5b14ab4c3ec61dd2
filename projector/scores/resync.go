package scores

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/oof-gg/platform/pkg/projection"
)

// The Redis boards are a copy of score_boards and score_board_updates, so
// an online rebuild (`oof rebuild scores`) builds the tables alone and
// copies them at the swap.
var _ projection.Mirrored = (*Projector)(nil)

// PostgresOnly is the projector writing the score tables alone.
func (p *Projector) PostgresOnly() projection.Projector {
	return New(p.topic, p.pool, nil, p.prefix, p.log)
}

// resyncSuffix names the keys a Resync builds a board's new copy in.
// KeyPattern matches them, so a reset or a later Resync removes any an
// interrupted one left.
const resyncSuffix = ":rebuild"

// Resync replaces the Redis boards with a copy of score_boards and
// score_board_updates as tx reads them. Unlike Sync (which empties Redis
// first) a reader never sees a board missing or half copied: every board's
// sorted set and player index are built under other keys, then one
// MULTI/EXEC renames them all over the boards, sets the last updates and
// new versions (so no reader keeps a page of the old copy) and removes the
// keys of boards the tables lack. A reader sees the old boards or the new
// ones.
func (p *Projector) Resync(ctx context.Context, tx pgx.Tx) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	old, err := p.boardKeys(ctx)
	if err != nil {
		return fmt.Errorf("scores resync: %w", err)
	}
	built, err := p.buildStandings(ctx, tx)
	if err != nil {
		return fmt.Errorf("scores resync: %w", err)
	}
	updates := map[string]time.Time{}
	rows, err := tx.Query(ctx, `SELECT board, updated_at FROM score_board_updates`)
	if err != nil {
		return fmt.Errorf("scores resync: %w", err)
	}
	for rows.Next() {
		var board string
		var at time.Time
		if err := rows.Scan(&board, &at); err != nil {
			rows.Close()
			return fmt.Errorf("scores resync: %w", err)
		}
		updates[board] = at
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scores resync: %w", err)
	}

	keep := map[string]bool{MarkerKey(p.prefix): true, NamesKey(p.prefix): true}
	pipe := p.rdb.TxPipeline()
	for board := range built {
		pipe.Rename(ctx, ZKey(p.prefix, board)+resyncSuffix, ZKey(p.prefix, board))
		pipe.Rename(ctx, PKey(p.prefix, board)+resyncSuffix, PKey(p.prefix, board))
		keep[ZKey(p.prefix, board)], keep[PKey(p.prefix, board)] = true, true
	}
	for board, at := range updates {
		pipe.Set(ctx, UKey(p.prefix, board), at.UnixMicro(), 0)
		keep[UKey(p.prefix, board)] = true
	}
	for _, boards := range []map[string]bool{built, keysOf(updates)} {
		for board := range boards {
			if !keep[VKey(p.prefix, board)] {
				pipe.Set(ctx, VKey(p.prefix, board), newVersion(), 0)
				keep[VKey(p.prefix, board)] = true
			}
		}
	}
	// After the renames: a leftover of an interrupted Resync among old is
	// gone by now or is removed here.
	for _, k := range old {
		if !keep[k] {
			pipe.Unlink(ctx, k)
		}
	}
	pipe.Set(ctx, MarkerKey(p.prefix), time.Now().UTC().Format(time.RFC3339Nano), 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("scores resync: %w", err)
	}
	return nil
}

// buildStandings copies score_boards into the boards' resync keys and
// returns the boards it copied.
func (p *Projector) buildStandings(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	built := map[string]bool{}
	err := p.writeStandings(ctx, tx, func(board string) (string, string) {
		return ZKey(p.prefix, board) + resyncSuffix, PKey(p.prefix, board) + resyncSuffix
	}, func(pipe redis.Pipeliner, board, z, idx string) {
		built[board] = true
		pipe.Del(ctx, z, idx) // left by an interrupted Resync
	})
	return built, err
}

// boardKeys lists every key under KeyPattern in Redis.
func (p *Projector) boardKeys(ctx context.Context) ([]string, error) {
	var keys []string
	iter := p.rdb.Scan(ctx, 0, KeyPattern(p.prefix), 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

func keysOf(m map[string]time.Time) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
