package scores

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// writeScript writes a batch's changes to one board (KEYS[1] the sorted
// set, KEYS[2] its player index, KEYS[3] its last update in Unix µs,
// KEYS[4] its version). ARGV[1] is the batch's latest submission time to
// the board, ARGV[2] a version token never used before, then one (player,
// sorted-set score, member) triple per entry to set: the entry the index
// names is removed first (whatever wrote it), so a player is on a board
// once. Setting, never adding, makes a repeat harmless. The version changes
// with every write, so a reader may keep a page for as long as the version
// it was read at is current (query/score).
var writeScript = redis.NewScript(`
local changed = false
for i = 3, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[2], ARGV[i])
  if old and old ~= ARGV[i+2] then redis.call('ZREM', KEYS[1], old) end
  redis.call('ZADD', KEYS[1], ARGV[i+1], ARGV[i+2])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+2])
  changed = true
end
local u = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[1]) > u then
  redis.call('SET', KEYS[3], ARGV[1])
  changed = true
end
if changed then redis.call('SET', KEYS[4], ARGV[2]) end
return 1`)

// FormatScore writes a sorted-set score exactly (integers up to 2^53).
func FormatScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Version tokens: this process's random prefix and a counter, so no two
// writes anywhere set the same token (a retried batch gets new ones).
var (
	versionPrefix = fmt.Sprintf("%016x", rand.Uint64())
	versionSeq    atomic.Uint64
)

func newVersion() string { return versionPrefix + strconv.FormatUint(versionSeq.Add(1), 36) }

// mirror copies a batch's board changes into Redis in one pipeline: one
// script call per board, after a check that Redis holds the boards. If it
// does not (it lost its data, or was never filled), the boards are copied
// from PostgreSQL first (Sync) and the writes sent again on top.
func (p *Projector) mirror(ctx context.Context, out outcome) error {
	var order []string
	byBoard := map[string][]any{}
	for _, w := range out.writes {
		args, ok := byBoard[w.board]
		if !ok {
			order = append(order, w.board)
			args = []any{out.updated[w.board].UnixMicro(), ""}
		}
		if w.moved {
			args = append(args, w.player, FormatScore(w.next.SortScore()), Member(w.player, w.next))
		}
		byBoard[w.board] = args
	}
	send := func(check bool) (bool, error) {
		p.syncMu.RLock()
		defer p.syncMu.RUnlock()
		pipe := p.rdb.Pipeline()
		var exists *redis.IntCmd
		if check {
			exists = pipe.Exists(ctx, MarkerKey(p.prefix))
		}
		for _, board := range order {
			args := byBoard[board]
			args[1] = newVersion()
			writeScript.EvalSha(ctx, pipe, []string{ZKey(p.prefix, board), PKey(p.prefix, board), UKey(p.prefix, board), VKey(p.prefix, board)}, args...)
		}
		cmds, err := pipe.Exec(ctx)
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			// The script is not cached (a fresh or flushed Redis): load it
			// and send the pipeline again (its writes are repeatable).
			if lerr := writeScript.Load(ctx, p.rdb).Err(); lerr != nil {
				return false, lerr
			}
			pipe = p.rdb.Pipeline()
			for _, c := range cmds {
				_ = pipe.Process(ctx, c)
			}
			_, err = pipe.Exec(ctx)
		}
		if err != nil {
			return false, fmt.Errorf("scores mirror: %w", err)
		}
		return exists == nil || exists.Val() == 1, nil
	}
	synced, err := send(true)
	if err != nil || synced {
		return err
	}
	p.log.Warn("score boards missing from Redis; copying them from PostgreSQL")
	if err := p.Sync(ctx); err != nil {
		return err
	}
	_, err = send(false)
	return err
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
	return p.writeStandings(ctx, p.pool, func(board string) (string, string) {
		return ZKey(p.prefix, board), PKey(p.prefix, board)
	}, nil)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// writeStandings adds every score_boards row read through q to its board's
// sorted set and player index (the keys keys names), pipelined in chunks;
// first, if set, runs before a board's first row.
func (p *Projector) writeStandings(ctx context.Context, q querier, keys func(board string) (z, idx string),
	first func(pipe redis.Pipeliner, board, z, idx string)) error {
	rows, err := q.Query(ctx, `SELECT board, player_id, value, reached_at, score_id::text, sign FROM score_boards`)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := map[string]bool{}
	pipe := p.rdb.Pipeline()
	n := 0
	for rows.Next() {
		var board, player string
		var s Standing
		if err := rows.Scan(&board, &player, &s.Value, &s.Reached, &s.ScoreID, &s.Sign); err != nil {
			return err
		}
		z, idx := keys(board)
		if first != nil && !seen[board] {
			seen[board] = true
			first(pipe, board, z, idx)
		}
		m := Member(player, s)
		pipe.ZAdd(ctx, z, redis.Z{Score: s.SortScore(), Member: m})
		pipe.HSet(ctx, idx, player, m)
		if n++; n%syncChunk == 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if pipe.Len() > 0 {
		_, err = pipe.Exec(ctx)
	}
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
		pipe.Set(ctx, VKey(p.prefix, board), newVersion(), 0)
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
