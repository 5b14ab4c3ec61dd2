package integration

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
)

// topEntries is a board's first page as "player value" lines.
func topEntries(ctx context.Context, a actor, game, typ string) ([]string, error) {
	resp, err := scoresAPI().GetLeaderboard(a.ctx(ctx), &scorepb.LeaderboardRequest{GameId: game, ScoreType: typ, Limit: 100})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range resp.GetLeaderboard().GetEntries() {
		out = append(out, fmt.Sprintf("%d %s %d", e.GetRank(), e.GetScore().GetPlayerId(), e.GetScore().GetValue()))
	}
	return out, nil
}

// trendingAll walks every page of TrendingGame.
func trendingAll(ctx context.Context, a actor) ([]string, error) {
	var ids []string
	var cursor *string
	for range 1000 {
		resp, err := games().TrendingGame(a.ctx(ctx), &gamepb.TrendingGamesRequest{Limit: ptr(int32(50)), Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, g := range resp.GetGames().GetGames() {
			ids = append(ids, g.GetId())
		}
		if cursor = resp.GetPagination().NextPageToken; cursor == nil {
			return ids, nil
		}
	}
	return nil, fmt.Errorf("trending pages do not end")
}

// `oof rebuild scores` and `oof rebuild trending`: the tables and the Redis
// boards and ranking end as the live projectors made them, reads answer
// the same throughout (never an empty or partly copied board), and
// corrupted boards, rankings and rows are repaired.
func TestRebuildOnlineScoresAndTrending(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	dev := signInAs(t, ctx, "developer")
	typ := uniqueName("laps")
	g1, g2 := newGame(t, ctx, dev, &gamepb.GameCreateRequest{}).GetId(), newGame(t, ctx, dev, &gamepb.GameCreateRequest{}).GetId()
	for i := range 5 {
		p := signInAs(t, ctx, "player")
		for _, sub := range []*scorepb.ScoreSubmission{
			{PlayerId: p.id, GameId: g1, Value: int64(10 * (i + 1)), ScoreType: typ},
			{PlayerId: p.id, GameId: g2, Value: int64(50 - 3*i), ScoreType: typ},
		} {
			if _, err := scoresAPI().SubmitScore(dev.ctx(ctx), sub); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 3 {
		newSession(t, ctx, dev, g1, "u1", "u2")
	}
	newSession(t, ctx, dev, g2)

	prefix := env.Cfg.RedisKeyPrefix
	trendKey := prefix + "trending:games"
	// The ranking is copied after the commit: wait until Redis has both
	// games at their committed scores.
	trendRows := func() []string {
		return dumpArgs(t, ctx, `SELECT game_id || ' ' || round(log_score::numeric, 6) || ' ' || events FROM game_trend
			WHERE game_id = ANY($1::uuid[]) ORDER BY game_id`, []string{g1, g2})
	}
	trendCopy := func() []string {
		var out []string
		for _, g := range []string{g1, g2} {
			s, err := env.Redis.ZScore(ctx, trendKey, g).Result()
			if err != nil {
				s = math.NaN()
			}
			out = append(out, fmt.Sprintf("%s %.6f", g, s))
		}
		return out
	}
	sessionTopic := env.Topic("oof.session.v1")
	end := topicEnd(t, sessionTopic)
	waitFor(t, func() bool {
		for part, want := range end {
			if countRows(t, ctx, `SELECT coalesce(max(next_offset), 0) FROM projector_offsets
				WHERE projector = 'trending' AND topic = $1 AND partition = $2`, sessionTopic, part) < int(want) {
				return false
			}
		}
		rows, c := trendRows(), trendCopy()
		return len(rows) == 2 && strings.HasPrefix(rows[0], c[0]+" ") && strings.HasPrefix(rows[1], c[1]+" ")
	})
	boardKeys := prefix + "score:{*}:" + typ + ":*"
	noVersion := func(k string) bool { return strings.HasSuffix(k, ":v") } // a resync gives boards new versions
	boards := func() map[string]string { return redisDump(t, ctx, boardKeys, noVersion) }
	scoreRows := func() []string {
		var out []string
		for _, q := range []string{
			`SELECT row_to_json(t)::text FROM scores t WHERE score_type = $1 ORDER BY id`,
			`SELECT row_to_json(t)::text FROM score_boards t WHERE split_part(board, ':', 2) = $1 ORDER BY board, player_id`,
			`SELECT row_to_json(t)::text FROM score_board_updates t WHERE split_part(board, ':', 2) = $1 ORDER BY board`,
		} {
			out = append(out, dumpArgs(t, ctx, q, typ)...)
		}
		return out
	}
	wantBoards, wantScoreRows, wantTrendRows, wantTrendCopy := boards(), scoreRows(), trendRows(), trendCopy()
	// g1's, g2's and all games' boards, for all time and 3 current periods:
	// a sorted set, a player index and a last update each.
	if len(wantBoards) != 3*4*3 {
		t.Fatalf("%d board keys, want 36: %v", len(wantBoards), wantBoards)
	}
	read := func(ctx context.Context) (map[string][]string, error) {
		out := map[string][]string{}
		for _, g := range []string{g1, g2, ""} {
			e, err := topEntries(ctx, dev, g, typ)
			if err != nil {
				return nil, err
			}
			out["board "+g] = e
		}
		ids, err := trendingAll(ctx, dev)
		out["trending"] = ids
		return out, err
	}
	wantReads, err := read(ctx)
	if err != nil || len(wantReads["board "]) != 5 || !slices.Contains(wantReads["trending"], g1) {
		t.Fatalf("reads before the rebuild: %v, %v", wantReads, err)
	}
	check := func(ctx context.Context) error {
		got, err := read(ctx)
		if err != nil {
			return err
		}
		for k, want := range wantReads {
			if !slices.Equal(got[k], want) {
				return fmt.Errorf("%s: %v, want %v", k, got[k], want)
			}
		}
		return nil
	}
	verify := func(when string) {
		t.Helper()
		if got := boards(); diffDumps(got, wantBoards) != "" {
			t.Fatalf("%s: Redis boards differ:\n%s", when, diffDumps(got, wantBoards))
		}
		if got := scoreRows(); !slices.Equal(got, wantScoreRows) {
			t.Fatalf("%s: score rows\n%v\nwant\n%v", when, got, wantScoreRows)
		}
		if got := trendCopy(); !slices.Equal(got, wantTrendCopy) {
			t.Fatalf("%s: trending copy %v, want %v", when, got, wantTrendCopy)
		}
		if got := trendRows(); !slices.Equal(got, wantTrendRows) {
			t.Fatalf("%s: game_trend %v, want %v", when, got, wantTrendRows)
		}
		if err := check(ctx); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}

	for _, proj := range []string{"scores", "trending"} {
		want := sameTables
		if proj == "trending" {
			want = anyTables
		}
		stop := keepReading(ctx, check)
		out := rebuildOK(t, ctx, cli, proj, want, "-batch=2", "-pause=5ms")
		reads, failed, firstErr := stop()
		t.Logf("oof rebuild %s (%d reads meanwhile):\n%s", proj, reads, out)
		if failed > 0 || reads == 0 {
			t.Fatalf("reads during the rebuild of %s: %d, failed %d (first: %v)", proj, reads, failed, firstErr)
		}
		verify("after the rebuild of " + proj)
	}

	// Corrupt the boards: a player who never scored tops g1's board, g2's
	// board is lost, a board nobody has appears; and a standing row. Corrupt
	// the ranking: g2 far ahead, g1 missing; and g1's row.
	g1All, g2All := prefix+"score:{"+g1+"}:"+typ+":all_time", prefix+"score:{"+g2+"}:"+typ+":all_time"
	env.Redis.ZAdd(ctx, g1All, redis.Z{Score: 1e9, Member: "bogus-member"})
	env.Redis.Del(ctx, g2All, g2All+":p")
	env.Redis.ZAdd(ctx, prefix+"score:{"+g1+"}:"+typ+":daily:2000-01-01", redis.Z{Score: 1, Member: "stale"})
	if _, err := env.Pool.Exec(ctx, `UPDATE score_boards SET value = value + 1000 WHERE board = $1`, g1+":"+typ+":all_time"); err != nil {
		t.Fatal(err)
	}
	env.Redis.ZAdd(ctx, trendKey, redis.Z{Score: 1e6, Member: g2})
	env.Redis.ZRem(ctx, trendKey, g1)
	if _, err := env.Pool.Exec(ctx, `UPDATE game_trend SET log_score = log_score + 50 WHERE game_id = $1`, g1); err != nil {
		t.Fatal(err)
	}
	if err := check(ctx); err == nil {
		t.Fatal("the corrupted boards and ranking are not visible: the test proves nothing")
	}
	for _, proj := range []string{"scores", "trending"} {
		out := rebuildOK(t, ctx, cli, proj, changedTables)
		t.Logf("oof rebuild %s after corruption:\n%s", proj, out)
	}
	verify("after repairing")

	// The live projector goes on: a new best reaches the board.
	p := signInAs(t, ctx, "player")
	if _, err := scoresAPI().SubmitScore(dev.ctx(ctx), &scorepb.ScoreSubmission{PlayerId: p.id, GameId: g1, Value: 999, ScoreType: typ}); err != nil {
		t.Fatal(err)
	}
	if top, err := topEntries(ctx, dev, g1, typ); err != nil || len(top) != 6 || top[0] != "1 "+p.id+" 999" {
		t.Fatalf("g1's board after a new score: %v, %v", top, err)
	}
}
