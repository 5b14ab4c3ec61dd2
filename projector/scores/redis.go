package scores

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// writeScript sets a player's entry on a board (KEYS[1] the sorted set,
// KEYS[2] its player index) when ARGV[5] is "1", removing the entry the
// index names first (whatever wrote it), so a player is on a board once;
// and raises the board's last update (KEYS[3], Unix microseconds) to ARGV[4].
// Setting, never adding, makes a repeat harmless.
var writeScript = redis.NewScript(`
if ARGV[5] == '1' then
  local old = redis.call('HGET', KEYS[2], ARGV[1])
  if old and old ~= ARGV[3] then redis.call('ZREM', KEYS[1], old) end
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
local u = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[4]) > u then redis.call('SET', KEYS[3], ARGV[4]) end
return 1`)

// FormatScore writes a sorted-set score exactly (integers up to 2^53).
func FormatScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// mirror copies a batch's board changes into Redis, in order, in one pipeline.
func (p *Projector) mirror(ctx context.Context, writes []boardWrite) error {
	if len(writes) == 0 {
		return nil
	}
	pipe := p.rdb.Pipeline()
	for _, w := range writes {
		moved := "0"
		if w.moved {
			moved = "1"
		}
		writeScript.EvalSha(ctx, pipe,
			[]string{ZKey(p.prefix, w.board), PKey(p.prefix, w.board), UKey(p.prefix, w.board)},
			w.player, FormatScore(w.next.SortScore()), Member(w.player, w.next), w.at.UnixMicro(), moved)
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// The script is not cached (a fresh or flushed Redis): load it and
		// send the pipeline again (its writes are repeatable).
		if lerr := writeScript.Load(ctx, p.rdb).Err(); lerr != nil {
			return lerr
		}
		pipe = p.rdb.Pipeline()
		for _, c := range cmds {
			_ = pipe.Process(ctx, c)
		}
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("scores mirror: %w", err)
	}
	return nil
}

// ensureSynced copies the boards into Redis when Redis lacks them (it lost
// its data, or was never filled), before a batch writes on top.
func (p *Projector) ensureSynced(ctx context.Context) error {
	n, err := p.rdb.Exists(ctx, MarkerKey(p.prefix)).Result()
	if err != nil || n == 1 {
		return err
	}
	p.log.Warn("score boards missing from Redis; copying them from PostgreSQL")
	return p.Sync(ctx)
}

// Sync replaces the Redis boards with a copy of score_boards (committed
// state): what a Redis that lost its data gets, and what `oof -rebuild`
// and the tests use. A batch of this process waits for it; a batch in
// flight in another process may leave its not yet committed rows on top,
// which is what its commit then makes true.
func (p *Projector) Sync(ctx context.Context) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	if err := p.wipe(ctx); err != nil {
		return err
	}
	if err := p.copyStandings(ctx); err != nil {
		return err
	}
	if err := p.copyUpdates(ctx); err != nil {
		return err
	}
	return p.rdb.Set(ctx, MarkerKey(p.prefix), time.Now().UTC().Format(time.RFC3339Nano), 0).Err()
}

const syncChunk = 2000

func (p *Projector) copyStandings(ctx context.Context) error {
	rows, err := p.pool.Query(ctx, `SELECT board, player_id, value, reached_at, score_id::text, sign FROM score_boards`)
	if err != nil {
		return err
	}
	defer rows.Close()
	pipe := p.rdb.Pipeline()
	n := 0
	for rows.Next() {
		var board, player string
		var s Standing
		if err := rows.Scan(&board, &player, &s.Value, &s.Reached, &s.ScoreID, &s.Sign); err != nil {
			return err
		}
		m := Member(player, s)
		pipe.ZAdd(ctx, ZKey(p.prefix, board), redis.Z{Score: s.SortScore(), Member: m})
		pipe.HSet(ctx, PKey(p.prefix, board), player, m)
		if n++; n%syncChunk == 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = pipe.Exec(ctx)
	return err
}

func (p *Projector) copyUpdates(ctx context.Context) error {
	rows, err := p.pool.Query(ctx, `SELECT board, updated_at FROM score_board_updates`)
	if err != nil {
		return err
	}
	defer rows.Close()
	pipe := p.rdb.Pipeline()
	for rows.Next() {
		var board string
		var at time.Time
		if err := rows.Scan(&board, &at); err != nil {
			return err
		}
		pipe.Set(ctx, UKey(p.prefix, board), at.UnixMicro(), 0)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = pipe.Exec(ctx)
	return err
}

// wipe deletes every board key (and the marker) from Redis.
func (p *Projector) wipe(ctx context.Context) error {
	iter := p.rdb.Scan(ctx, 0, KeyPattern(p.prefix), 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 500 {
			if err := p.rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return p.rdb.Unlink(ctx, batch...).Err()
	}
	return nil
}
