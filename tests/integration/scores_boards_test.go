package integration

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/command/kit"
	commandscore "github.com/oof-gg/platform/command/score"
	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/outbox"
	"github.com/oof-gg/platform/projector/scores"
)

// clockSubmitter submits through the real SubmitScore handler with an
// injected clock (kit.Deps.Now), so tests choose each submission's time and
// so its periods. Its outbox has no relay of its own: the platform's relay
// picks the rows up (poll), and submitted waits for the projector.
type clockSubmitter struct {
	h    *commandscore.Handler
	now  time.Time
	sent map[string]int // per game
}

func newClockSubmitter() *clockSubmitter {
	c := &clockSubmitter{sent: map[string]int{}}
	clock := func() time.Time { return c.now }
	c.h = &commandscore.Handler{Topic: env.Topic("oof.score.v1"), Deps: kit.Deps{
		Store: aggregate.NewStore(env.Pool), Outbox: outbox.New(env.Pool, nil, clock),
		ProjectionWait: time.Second, Now: clock, Log: env.Log,
	}}
	return c
}

type sub struct {
	at     time.Time
	player string
	typ    string
	value  int64
}

// submit sends subs as a game instance and waits until all are in history
// (the projector applies history and boards in one transaction).
func (c *clockSubmitter) submit(t *testing.T, ctx context.Context, game string, subs ...sub) {
	t.Helper()
	svc := auth.Principal{UserID: "00000000-0000-4000-8000-000000000001", Role: auth.RoleService}
	for _, s := range subs {
		c.now = s.at
		if _, err := c.h.Submit(ctx, svc, &scorepb.ScoreSubmission{PlayerId: s.player, GameId: game, Value: s.value, ScoreType: s.typ}); err != nil {
			t.Fatalf("submit %v: %v", s, err)
		}
	}
	c.sent[game] += len(subs)
	waitFor(t, func() bool {
		return countRows(t, ctx, `SELECT count(*) FROM scores WHERE game_id = $1`, game) >= c.sent[game]
	})
}

// refEntry is one row of a reference board.
type refEntry struct {
	Player  string
	Value   int64
	Reached time.Time
}

// reference computes a board from the submissions, independently of the
// projector: op per type, ties to whoever reached the value first.
func reference(subs []sub, typ, period string, op string) []refEntry {
	by := map[string]*refEntry{}
	for _, s := range subs {
		if s.typ != typ {
			continue
		}
		in := period == scores.AllTime
		ps := scores.Periods(s.at)
		for _, p := range ps[1:] {
			in = in || p == period
		}
		if !in {
			continue
		}
		e, ok := by[s.player]
		if !ok {
			by[s.player] = &refEntry{Player: s.player, Value: s.value, Reached: s.at}
			continue
		}
		switch op {
		case "sum":
			e.Value += s.value
			if s.at.After(e.Reached) {
				e.Reached = s.at
			}
		case "latest":
			if !s.at.Before(e.Reached) {
				e.Value, e.Reached = s.value, s.at
			}
		case "best_lowest":
			if s.value < e.Value {
				e.Value, e.Reached = s.value, s.at
			}
		default:
			if s.value > e.Value {
				e.Value, e.Reached = s.value, s.at
			}
		}
	}
	out := make([]refEntry, 0, len(by))
	for _, e := range by {
		out = append(out, *e)
	}
	sign := int64(1)
	if op == "best_lowest" {
		sign = -1
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Value*sign != out[j].Value*sign {
			return out[i].Value*sign > out[j].Value*sign
		}
		return out[i].Reached.Before(out[j].Reached)
	})
	return out
}

// readBoard walks a whole board through GetLeaderboard's cursor pages.
func readBoard(t *testing.T, ctx context.Context, a actor, game, typ, period string, limit int32) ([]refEntry, *scorepb.Leaderboard) {
	t.Helper()
	var out []refEntry
	var first *scorepb.Leaderboard
	cursor := ""
	for page := 0; page < 1000; page++ {
		var md metadata.MD
		resp, err := scoresAPI().GetLeaderboard(a.ctx(ctx), &scorepb.LeaderboardRequest{GameId: game, ScoreType: typ, TimePeriod: period, Limit: limit, Cursor: cursor}, grpc.Header(&md))
		if err != nil {
			t.Fatalf("leaderboard %s %s %s: %v", game, typ, period, err)
		}
		lb := resp.GetLeaderboard()
		if first == nil {
			first = lb
		}
		for _, e := range lb.GetEntries() {
			if int(e.GetRank()) != len(out)+1 {
				t.Fatalf("rank %d at position %d", e.GetRank(), len(out)+1)
			}
			out = append(out, refEntry{Player: e.GetScore().GetPlayerId(), Value: e.GetScore().GetValue(), Reached: e.GetScore().GetCreatedAt().AsTime()})
		}
		next := md.Get("x-oof-next-cursor")
		if len(next) == 0 {
			return out, first
		}
		cursor = next[0]
	}
	t.Fatal("too many pages")
	return nil, nil
}

// TestScoreBoardsOperatorsPeriods: every operator on every period, with
// period rollover (Sunday to Monday, month end) decided by each
// submission's time, against a reference computation; then Redis is wiped
// and rebuilt from PostgreSQL and shows identical boards.
func TestScoreBoardsOperatorsPeriods(t *testing.T) {
	ctx := testCtx(t)
	owner, reader := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player")
	game := scoreGame(t, ctx, owner, `{"scores":{"types":{"lo":"best_lowest","last":"latest","total":"sum"}}}`)
	ops := map[string]string{"hi": "best_highest", "lo": "best_lowest", "last": "latest", "total": "sum"}
	pa, pb, pc := signInAs(t, ctx, "player").id, signInAs(t, ctx, "player").id, signInAs(t, ctx, "player").id
	sun := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC) // a Sunday: ISO week 9
	mon := time.Date(2026, 3, 2, 0, 1, 0, 0, time.UTC)   // Monday: week 10
	apr := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)   // next month
	var subs []sub
	for typ := range ops {
		subs = append(subs,
			sub{sun, pa, typ, 50}, sub{sun.Add(time.Second), pb, typ, 50}, // a tie: pa reached it first
			sub{mon, pa, typ, 30}, sub{mon.Add(time.Minute), pc, typ, 45},
			sub{apr, pa, typ, 40}, sub{apr.Add(time.Hour), pb, typ, 40}, sub{apr.Add(2 * time.Hour), pb, typ, 40})
	}
	newClockSubmitter().submit(t, ctx, game, subs...)
	periods := []string{scores.AllTime}
	for _, at := range []time.Time{sun, mon, apr} {
		p := scores.Periods(at)
		periods = append(periods, p[1], p[2], p[3])
	}
	type key struct{ typ, period string }
	before := map[key][]refEntry{}
	for typ, op := range ops {
		for _, period := range periods {
			got, lb := readBoard(t, ctx, reader, game, typ, period, 2)
			want := reference(subs, typ, period, op)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%s) %s:\n got %v\nwant %v", typ, op, period, got, want)
			}
			if len(want) > 0 && lb.GetLastUpdated() == nil {
				t.Errorf("%s %s: no last_updated", typ, period)
			}
			before[key{typ, period}] = got
		}
	}
	// Redis loses the boards; a sync copies them back from PostgreSQL.
	keys, err := env.Redis.Keys(ctx, scores.KeyPattern(env.Cfg.RedisKeyPrefix)).Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("board keys %d: %v", len(keys), err)
	}
	if err := env.Redis.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	proj := scores.New(env.Topic("oof.score.v1"), env.Pool, env.Redis, env.Cfg.RedisKeyPrefix, env.Log)
	if err := proj.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for k, want := range before {
		if got, _ := readBoard(t, ctx, reader, game, k.typ, k.period, 3); !reflect.DeepEqual(got, want) {
			t.Errorf("after the rebuild %v:\n got %v\nwant %v", k, got, want)
		}
	}
}

// TestScoreRankAcrossGames: a game's rank, its primary type ("overall"
// within a game), and across games (each player's sum of per-game results).
func TestScoreRankAcrossGames(t *testing.T) {
	ctx := testCtx(t)
	owner, reader := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player")
	g1 := scoreGame(t, ctx, owner, "")
	g2 := scoreGame(t, ctx, owner, `{"scores":{"primary_type":"kills"}}`)
	a, b := signInAs(t, ctx, "player").id, signInAs(t, ctx, "player").id
	t0 := time.Now().UTC()
	c := newClockSubmitter()
	c.submit(t, ctx, g1, sub{t0, a, "points", 10}, sub{t0, b, "points", 12})
	c.submit(t, ctx, g2, sub{t0, a, "points", 5}, sub{t0, a, "kills", 3}, sub{t0.Add(time.Second), b, "kills", 9})
	cases := []struct {
		name           string
		req            *scorepb.PlayerRankRequest
		rank, value, n int64
		typ            string
	}{
		{"one game", &scorepb.PlayerRankRequest{PlayerId: a, GameId: g1, ScoreType: "points"}, 2, 10, 2, "points"},
		{"game primary (default points)", &scorepb.PlayerRankRequest{PlayerId: b, GameId: g1}, 1, 12, 2, "points"},
		{"game primary kills", &scorepb.PlayerRankRequest{PlayerId: a, GameId: g2}, 2, 3, 2, "kills"},
		{"across games, points", &scorepb.PlayerRankRequest{PlayerId: a, ScoreType: "points"}, 0, 15, 0, "points"},
		{"overall across games", &scorepb.PlayerRankRequest{PlayerId: b}, 0, 12, 0, "points"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rankOf(t, ctx, reader, tc.req)
			if r.GetScoreValue() != tc.value || r.GetScoreType() != tc.typ || (tc.rank > 0 && int64(r.GetRank()) != tc.rank) || (tc.n > 0 && int64(r.GetTotalPlayers()) != tc.n) {
				t.Fatalf("got %v", r)
			}
		})
	}
	// Across games, a ranks above b (15 > 12) among the players of this test.
	ra := rankOf(t, ctx, reader, &scorepb.PlayerRankRequest{PlayerId: a, ScoreType: "points"})
	rb := rankOf(t, ctx, reader, &scorepb.PlayerRankRequest{PlayerId: b, ScoreType: "points"})
	if ra.GetRank() >= rb.GetRank() {
		t.Fatalf("across games: a %v, b %v", ra, rb)
	}
	_, err := scoresAPI().GetPlayerRank(reader.ctx(ctx), &scorepb.PlayerRankRequest{PlayerId: reader.id, GameId: g1})
	wantCode(t, err, 5) // NOT_FOUND: no score there
}

// TestScorePagesWhileScoresArrive: a walk through a board by cursor sees
// every entry that keeps its place exactly once, in order, while new
// players' scores land between pages; the page around a player has them in
// its middle; history pages are newest first with a total count.
func TestScorePagesWhileScoresArrive(t *testing.T) {
	ctx := testCtx(t)
	owner, reader := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player")
	game := scoreGame(t, ctx, owner, "")
	c := newClockSubmitter()
	t0 := time.Now().UTC()
	var seeded []sub
	for i := 0; i < 20; i++ {
		seeded = append(seeded, sub{t0, signInAs(t, ctx, "player").id, "points", int64(i * 10)})
	}
	c.submit(t, ctx, game, seeded...)
	seen := map[string]int{}
	cursor, pages := "", 0
	for ; pages < 50; pages++ {
		var md metadata.MD
		resp, err := scoresAPI().GetLeaderboard(reader.ctx(ctx), &scorepb.LeaderboardRequest{GameId: game, Limit: 4, Cursor: cursor}, grpc.Header(&md))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetLeaderboard().GetEntries() {
			seen[e.GetScore().GetPlayerId()]++
		}
		// New players land above and below the cursor.
		c.submit(t, ctx, game, sub{t0, fmt.Sprintf("00000000-0000-4000-8000-%012d", pages*2), "points", int64(195 - pages*20)},
			sub{t0, fmt.Sprintf("00000000-0000-4000-8000-%012d", pages*2+1), "points", int64(5 + pages*20)})
		next := md.Get("x-oof-next-cursor")
		if len(next) == 0 {
			break
		}
		cursor = next[0]
	}
	for _, s := range seeded {
		if seen[s.player] != 1 {
			t.Errorf("seeded player with %d seen %d times", s.value, seen[s.player])
		}
	}
	for p, n := range seen {
		if n != 1 {
			t.Errorf("player %s seen %d times", p, n)
		}
	}
	// The page around a player.
	mid := seeded[10]
	resp, err := scoresAPI().GetLeaderboard(metadata.AppendToOutgoingContext(reader.ctx(ctx), "x-oof-around-player", mid.player),
		&scorepb.LeaderboardRequest{GameId: game, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	entries := resp.GetLeaderboard().GetEntries()
	if len(entries) != 5 || entries[2].GetScore().GetPlayerId() != mid.player || entries[0].GetPlayerName() == "" {
		t.Fatalf("around %s: %v", mid.player, entries)
	}
	// History: newest first, pages, total count.
	p := seeded[0].player
	for i := 1; i <= 4; i++ {
		c.submit(t, ctx, game, sub{t0.Add(time.Duration(i) * time.Minute), p, "points", int64(i)})
	}
	var got []int64
	cursor = ""
	for {
		var md metadata.MD
		resp, err := scoresAPI().GetPlayerScores(reader.ctx(ctx), &scorepb.PlayerScoresRequest{PlayerId: p, GameId: game, Limit: 2, Cursor: cursor}, grpc.Header(&md))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetPlayerScores().GetTotalCount() != 5 {
			t.Fatalf("total_count %d", resp.GetPlayerScores().GetTotalCount())
		}
		for _, s := range resp.GetPlayerScores().GetScores() {
			got = append(got, s.GetValue())
		}
		next := md.Get("x-oof-next-cursor")
		if len(next) == 0 {
			break
		}
		cursor = next[0]
	}
	if want := []int64{4, 3, 2, 1, 0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
}
