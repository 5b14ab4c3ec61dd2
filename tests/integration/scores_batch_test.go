package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector/scores"
)

// scoreSet is one copy of a scenario for TestScoreBatchEqualsOneByOne:
// its own games, players and score ids (same order as the other copy's).
type scoreSet struct {
	games   [2]string
	players [3]string
	tag     uint32
}

func newScoreSet() scoreSet {
	s := scoreSet{tag: rand.Uint32()}
	for i := range s.games {
		s.games[i] = uuid.NewString()
	}
	for i := range s.players {
		s.players[i] = fmt.Sprintf("%08x-0000-4000-8000-%012d", s.tag, i)
	}
	return s
}

func (s scoreSet) scoreID(k int) string { return fmt.Sprintf("%08x-0000-7000-8000-%012d", s.tag, k) }

// events are the scenario's submissions in log order: every operator, a
// player several times per board, ties, times with nanoseconds (PostgreSQL
// keeps microseconds) and two games (the across-games boards).
func (s scoreSet) events(t0 time.Time) []projection.Event {
	ops := map[string]eventspb.ScoreOperator{
		"points": eventspb.ScoreOperator_SCORE_OPERATOR_BEST_HIGHEST, "lo": eventspb.ScoreOperator_SCORE_OPERATOR_BEST_LOWEST,
		"last": eventspb.ScoreOperator_SCORE_OPERATOR_LATEST, "total": eventspb.ScoreOperator_SCORE_OPERATOR_SUM,
	}
	var out []projection.Event
	k := 0
	for _, typ := range []string{"points", "lo", "last", "total"} {
		for i, v := range []int64{50, 70, 50, 30, 70, 90, 10} {
			at := t0.Add(time.Duration(i*1500+i%3) * time.Nanosecond * 1001)
			if i == 4 {
				at = t0 // an equal value at an earlier time
			}
			sc := &scorepb.Score{Id: s.scoreID(k), PlayerId: s.players[i%len(s.players)], GameId: s.games[i%2],
				Value: v, ScoreType: typ, CreatedAt: timestamppb.New(at)}
			out = append(out, projection.Event{Msg: &eventspb.ScoreSubmitted{Score: sc, Operator: ops[typ], SubmittedBy: "t"}})
			k++
		}
	}
	return out
}

// rename maps one set's ids onto another's, to compare their read models.
func (s scoreSet) rename(to scoreSet, n int) *strings.Replacer {
	var pairs []string
	for i := range s.games {
		pairs = append(pairs, s.games[i], to.games[i])
	}
	for i := range s.players {
		pairs = append(pairs, s.players[i], to.players[i])
	}
	for k := range n {
		pairs = append(pairs, s.scoreID(k), to.scoreID(k))
	}
	return strings.NewReplacer(pairs...)
}

// dumpScoreSet is a set's rows in PostgreSQL and entries in Redis, as text.
func dumpScoreSet(t *testing.T, ctx context.Context, s scoreSet) []string {
	t.Helper()
	out := dump(t, ctx, env.Pool, fmt.Sprintf(`SELECT (board, player_id, value, reached_at, score_id, sign)::text FROM score_boards
		WHERE player_id IN ('%s', '%s', '%s') ORDER BY 1`, s.players[0], s.players[1], s.players[2]))
	out = append(out, dump(t, ctx, env.Pool, fmt.Sprintf(`SELECT (board, updated_at)::text FROM score_board_updates
		WHERE board LIKE '%s%%' OR board LIKE '%s%%' ORDER BY 1`, s.games[0], s.games[1]))...)
	boards, err := env.Pool.Query(ctx, `SELECT DISTINCT board FROM score_boards WHERE player_id = ANY($1) ORDER BY 1`, s.players[:])
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(boards, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	p := env.Cfg.RedisKeyPrefix
	for _, b := range names {
		for _, pl := range s.players {
			m, _ := env.Redis.HGet(ctx, scores.PKey(p, b), pl).Result()
			sc, _ := env.Redis.ZScore(ctx, scores.ZKey(p, b), m).Result()
			out = append(out, fmt.Sprintf("redis %s %s %s %v", b, pl, m, sc))
		}
		if !strings.HasPrefix(b, scores.AllGames) {
			u, _ := env.Redis.Get(ctx, scores.UKey(p, b)).Result()
			zs, _ := env.Redis.ZRangeWithScores(ctx, scores.ZKey(p, b), 0, -1).Result()
			out = append(out, fmt.Sprintf("redis %s u=%s %v", b, u, zs))
		}
	}
	return out
}

// TestScoreBatchEqualsOneByOne: the projector applying a whole batch at
// once (a duplicate inside it, the last-update rows sent with the commit as
// the runner does) leaves exactly what applying each event in its own
// transaction leaves, in PostgreSQL and in Redis; a redelivered event
// changes nothing; and a Redis rebuilt from PostgreSQL holds the same
// members as the live one (times kept to PostgreSQL's microseconds).
func TestScoreBatchEqualsOneByOne(t *testing.T) {
	ctx := testCtx(t)
	proj := scores.New(env.Topic("oof.score.v1"), env.Pool, env.Redis, env.Cfg.RedisKeyPrefix, env.Log)
	t0 := time.Now().UTC().Truncate(time.Second).Add(123456789 * time.Nanosecond)
	batched, single := newScoreSet(), newScoreSet()

	evs := batched.events(t0)
	inBatch := append(slices.Clone(evs[:9]), evs[3]) // a duplicate within the batch
	inBatch = append(inBatch, evs[9:]...)
	tx, err := env.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	commit := &pgx.Batch{}
	if err := proj.ApplyAllCommit(ctx, tx, inBatch, commit); err != nil {
		t.Fatal(err)
	}
	if err := tx.SendBatch(ctx, commit).Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	one := single.events(t0)
	for _, ev := range append(one, one[5]) { // the last one a redelivery
		if err := pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error { return proj.ApplyAll(ctx, tx, []projection.Event{ev}) }); err != nil {
			t.Fatal(err)
		}
	}

	got, want := dumpScoreSet(t, ctx, batched), dumpScoreSet(t, ctx, single)
	r := batched.rename(single, len(evs))
	for i := range got {
		got[i] = r.Replace(got[i])
	}
	// Rows are in board order, and boards start with the (random) game ids.
	slices.Sort(got)
	if want = slices.Sorted(slices.Values(want)); !reflect.DeepEqual(got, want) {
		t.Fatalf("batch and one by one differ:\n batch %q\n  one %q", got, want)
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM scores WHERE player_id = ANY($1)`, batched.players[:]); n != len(evs) {
		t.Fatalf("%d history rows, want %d", n, len(evs))
	}
	// Redis rebuilt from PostgreSQL holds the same members and last updates.
	if err := proj.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if again := slices.Sorted(slices.Values(dumpScoreSet(t, ctx, single))); !reflect.DeepEqual(again, want) {
		t.Fatalf("after a rebuild of Redis:\n got %q\nwant %q", again, want)
	}
}

// TestScoreTopPageKeptWhileCurrent: GetLeaderboard keeps a board's top
// page with the board's version, so a second read is the same answer; any
// write to the board (a better score, one that moves nothing but the last
// update, a Redis rebuild) is seen by the next read.
func TestScoreTopPageKeptWhileCurrent(t *testing.T) {
	ctx := testCtx(t)
	owner, reader := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player")
	game := scoreGame(t, ctx, owner, "")
	a, b := signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	submit := func(p actor, v int64) *scorepb.Score {
		t.Helper()
		resp, err := scoresAPI().SubmitScore(owner.ctx(ctx), &scorepb.ScoreSubmission{PlayerId: p.id, GameId: game, Value: v})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetLeaderboardEntry().GetScore()
	}
	top := func() *scorepb.Leaderboard {
		t.Helper()
		resp, err := scoresAPI().GetLeaderboard(reader.ctx(ctx), &scorepb.LeaderboardRequest{GameId: game, ScoreType: "points", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetLeaderboard()
	}
	players := func(lb *scorepb.Leaderboard) []string {
		var out []string
		for _, e := range lb.GetEntries() {
			out = append(out, fmt.Sprintf("%d %s %d %s", e.GetRank(), e.GetScore().GetPlayerId(), e.GetScore().GetValue(), e.GetPlayerName()))
		}
		return out
	}
	first := submit(a, 10)
	p1 := top()
	if p2 := top(); !proto.Equal(p1, p2) || len(p1.GetEntries()) != 1 || p1.GetEntries()[0].GetPlayerName() == "" {
		t.Fatalf("two reads of an unchanged board:\n%v\n%v", p1, p2)
	}
	// A lower score moves no standing, only the board's last update.
	second := submit(a, 5)
	if p := top(); !p.GetLastUpdated().AsTime().Equal(second.GetCreatedAt().AsTime().Truncate(time.Microsecond)) ||
		!reflect.DeepEqual(players(p), players(p1)) {
		t.Fatalf("after a score that moved nothing (first at %v, second at %v): %v", first.GetCreatedAt().AsTime(), second.GetCreatedAt().AsTime(), p)
	}
	submit(b, 20)
	p3 := top()
	if got := players(p3); len(got) != 2 || p3.GetEntries()[0].GetScore().GetPlayerId() != b.id {
		t.Fatalf("after a better score: %v", got)
	}
	// The board lost from Redis and rebuilt: the page is read again (same
	// content).
	keys, err := env.Redis.Keys(ctx, env.Cfg.RedisKeyPrefix+"score:{"+game+"}:*").Result() // scores.ZKey
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Redis.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := scoresAPI().GetLeaderboard(reader.ctx(ctx), &scorepb.LeaderboardRequest{GameId: game, ScoreType: "points", Limit: 10}); err != nil {
		t.Fatal(err) // an empty board now: no entries, no error
	}
	proj := scores.New(env.Topic("oof.score.v1"), env.Pool, env.Redis, env.Cfg.RedisKeyPrefix, env.Log)
	if err := proj.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := players(top()), players(p3); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the rebuild: %v, want %v", got, want)
	}
}
