package main

// The score scenarios (docs/scores.md, docs/benchmarks.md "Scores"):
// SubmitScore against the insert+commit floor; how long after it is sent a
// score shows in GetPlayerRank to a second client; GetLeaderboard and
// GetPlayerRank on one board of -score-players players, each against a
// floor that runs the same Redis commands behind an empty RPC on the same
// server stack (scoresboard.go).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/projector/scores"
)

const (
	nameSubmitScore = "SubmitScore"
	nameScoreLag    = "score submit → visible in rank"
	nameBoardFloor  = "empty RPC + board top-100 Redis reads"
	nameLeaderboard = "GetLeaderboard top 100"
	nameRankFloor   = "empty RPC + rank Redis script"
	namePlayerRank  = "GetPlayerRank"

	// lagCallers submit at once in the lag scenario; each has a second
	// client polling, so the polls are the larger load.
	lagCallers = 4
	// lagPoll is the pause between two polls of the lag scenario's second
	// client: with one GetPlayerRank round trip it is the resolution.
	lagPoll = time.Millisecond
	// lagPending bounds a lag caller's acknowledgements still in flight.
	lagPending = 4
	// submitPlayers is how many players each SubmitScore caller submits for.
	submitPlayers = 8
)

var scorePlayers = flag.Int("score-players", 1_000_000,
	"players on the board GetLeaderboard and GetPlayerRank read (seeded directly into PostgreSQL and Redis)")

func (b *bench) scores(worker int) commonpb.ScoreServiceClient {
	return commonpb.NewScoreServiceClient(b.conns[worker%len(b.conns)])
}

// onPlayers names the size of the seeded board in a goal.
func onPlayers() string { return fmt.Sprintf(", %s players", fmtInt(*scorePlayers)) }

func newPlayerIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	return ids
}

// submitScore: the game's owner submits for a few players per caller (the
// topic is keyed by player, so they spread over its partitions). Each call
// commits the outbox row, goes through Kafka and waits until the scores
// projector wrote the history row, eight standings (four periods, the game
// and all games) and their Redis copy.
func submitScore(b *bench) scenario {
	var f *sessionFixture
	var players [][]string
	conc := b.concurrency(32)
	return scenario{
		name:        nameSubmitScore,
		concurrency: conc,
		setup: func(ctx context.Context) (err error) {
			if f, err = b.sessionFixture(ctx, "ss", 1); err != nil {
				return err
			}
			players = make([][]string, conc)
			for w := range players {
				players[w] = newPlayerIDs(submitPlayers)
			}
			return nil
		},
		op: func(ctx context.Context, w, i int) error {
			resp, err := b.scores(w).SubmitScore(f.with(ctx), &scorepb.ScoreSubmission{
				PlayerId: players[w][i%submitPlayers], GameId: f.games[0], Value: int64(i)})
			if err == nil && resp.GetLeaderboardEntry().GetScore().GetId() == "" {
				err = errors.New("no score returned")
			}
			return err
		},
		goal:  "≥ 0.5× floor ops/s, p99 ≤ 10× floor p99 (each call waits for its projection)",
		floor: namePGFloor, minOpsRatio: 0.5, maxP99Ratio: 10,
	}
}

// lagCall is one submission of the lag scenario: when it was sent, when a
// second client first saw it, and its acknowledgement.
type lagCall struct {
	sent    time.Time
	visible time.Duration
	ack     chan lagAck
}

type lagAck struct {
	after time.Duration // sent → answer
	err   error
}

// lagRecord collects the acknowledgements of the measured calls.
type lagRecord struct {
	mu        sync.Mutex
	from      time.Time // start of the measured window: first call + warm-up
	acks      []time.Duration
	beforeAck int // calls a second client saw before their own answer came
	failed    int // acknowledgements that were errors
}

func (l *lagRecord) add(c lagCall, a lagAck) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a.err != nil {
		l.failed++
	}
	if c.sent.Before(l.from) || a.err != nil {
		return
	}
	l.acks = append(l.acks, a.after)
	if c.visible < a.after {
		l.beforeAck++
	}
}

// scoreLag: each caller sends SubmitScore for a player of its own, with a
// value above all earlier ones (best_highest), and at once polls
// GetPlayerRank for that player on another connection until the value shows;
// the call's time is send → visible to that second client. The answer is
// collected without being waited for (a caller has at most lagPending in
// flight); its time and whether the score was visible before it arrived go
// into the goal column. SubmitScore waits for the projection
// (read-your-writes), so visible-at-answer is given; this measures what
// another client sees.
func scoreLag(b *bench) scenario {
	var f *sessionFixture
	var players []string
	pending := make([][]lagCall, lagCallers)
	rec := &lagRecord{}
	var once sync.Once
	drain := func(w int, block bool) error {
		var first error
		for len(pending[w]) > 0 {
			c := pending[w][0]
			var a lagAck
			if block || len(pending[w]) > lagPending {
				a = <-c.ack
			} else {
				select {
				case a = <-c.ack:
				default:
					return first
				}
			}
			pending[w] = pending[w][1:]
			rec.add(c, a)
			if a.err != nil && first == nil {
				first = fmt.Errorf("SubmitScore: %w", a.err)
			}
		}
		return first
	}
	return scenario{
		name:        nameScoreLag,
		concurrency: lagCallers,
		setup: func(ctx context.Context) (err error) {
			f, err = b.sessionFixture(ctx, "sl", 1)
			players = newPlayerIDs(lagCallers)
			return err
		},
		op: func(ctx context.Context, w, i int) error {
			once.Do(func() { rec.from = time.Now().Add(b.opts.warmup) })
			if err := drain(w, false); err != nil {
				return err
			}
			want := int64(i + 1)
			c := lagCall{sent: time.Now(), ack: make(chan lagAck, 1)}
			go func() {
				// Not ctx: it ends when this call returns, before the answer.
				actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
				defer cancel()
				_, err := b.scores(w).SubmitScore(f.with(actx), &scorepb.ScoreSubmission{
					PlayerId: players[w], GameId: f.games[0], Value: want})
				c.ack <- lagAck{after: time.Since(c.sent), err: err}
			}()
			req := &scorepb.PlayerRankRequest{PlayerId: players[w], GameId: f.games[0], ScoreType: scores.DefaultType}
			for {
				resp, err := b.scores(w+1).GetPlayerRank(f.with(ctx), req)
				if err == nil && resp.GetPlayerRank().GetScoreValue() >= want {
					c.visible = time.Since(c.sent)
					break
				}
				if err != nil && status.Code(err) != codes.NotFound { // NotFound: before the first score
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(lagPoll):
				}
			}
			pending[w] = append(pending[w], c)
			return nil
		},
		goal: "p99 ≤ 50 ms (as projection lag)",
		check: func(r result, _ map[string]result) (bool, string) {
			for w := range pending { // the run is over: collect the rest
				_ = drain(w, true)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			acks := append([]time.Duration(nil), rec.acks...)
			slices.Sort(acks)
			detail := fmt.Sprintf("answer p50 %s p99 %s; %d%% seen before the answer",
				fmtDur(percentile(acks, 0.5)), fmtDur(percentile(acks, 0.99)), 100*rec.beforeAck/max(1, len(acks)))
			if rec.failed > 0 {
				detail += fmt.Sprintf("; %d answers failed", rec.failed)
			}
			return r.p(0.99) <= 50*time.Millisecond && rec.failed == 0, detail
		},
	}
}

// getLeaderboard reads the top 100 of the seeded board. score_type is
// named, so the query reads Redis only (an empty one also reads the game's
// primary type from PostgreSQL).
func getLeaderboard(b *bench) scenario {
	var sb *seededBoard
	return scenario{
		name:        nameLeaderboard,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			sb, err = b.seededBoard(ctx)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			resp, err := b.scores(w).GetLeaderboard(sb.fixture.with(ctx), &scorepb.LeaderboardRequest{
				GameId: sb.game, ScoreType: scores.DefaultType, Limit: boardPage})
			if err != nil {
				return err
			}
			e := resp.GetLeaderboard().GetEntries()
			if len(e) != min(boardPage, sb.players) || e[0].GetRank() != 1 || e[0].GetPlayerName() == "" {
				return fmt.Errorf("the page came back wrong: %d entries", len(e))
			}
			return nil
		},
		goal:  "≥ 0.7× floor ops/s" + onPlayers(),
		floor: nameBoardFloor, minOpsRatio: 0.7,
	}
}

// getPlayerRank asks for the rank of a random seeded player.
func getPlayerRank(b *bench) scenario {
	var sb *seededBoard
	return scenario{
		name:        namePlayerRank,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			sb, err = b.seededBoard(ctx)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			resp, err := b.scores(w).GetPlayerRank(sb.fixture.with(ctx), &scorepb.PlayerRankRequest{
				PlayerId: sb.player(rand.IntN(sb.players)), GameId: sb.game, ScoreType: scores.DefaultType})
			if err == nil && int(resp.GetPlayerRank().GetTotalPlayers()) != sb.players {
				err = fmt.Errorf("the board has %d players, not %d", resp.GetPlayerRank().GetTotalPlayers(), sb.players)
			}
			return err
		},
		goal:  "≥ 0.7× floor ops/s" + onPlayers(),
		floor: nameRankFloor, minOpsRatio: 0.7,
	}
}

// boardFloor: an empty RPC whose handler runs what GetLeaderboard's does
// in Redis for the top 100: the page script (last update, 101 members with
// scores) and the names of the 100 players.
func boardFloor(b *bench) scenario {
	var fc *scoreFloorClients
	var sb *seededBoard
	return scenario{
		name:        nameBoardFloor,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			if sb, err = b.seededBoard(ctx); err != nil {
				return err
			}
			fc, err = b.scoreFloorServer(ctx, sb)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			n, err := fc.top(ctx, w)
			if err == nil && n != min(boardPage, sb.players) {
				err = fmt.Errorf("the page had %d entries", n)
			}
			return err
		},
		goal: "— (floor" + onPlayers() + ")",
	}
}

// rankFloor: an empty RPC whose handler runs GetPlayerRank's Redis script
// (player's member, its reverse rank, score and the board's size).
func rankFloor(b *bench) scenario {
	var fc *scoreFloorClients
	var sb *seededBoard
	return scenario{
		name:        nameRankFloor,
		concurrency: b.concurrency(32),
		setup: func(ctx context.Context) (err error) {
			if sb, err = b.seededBoard(ctx); err != nil {
				return err
			}
			fc, err = b.scoreFloorServer(ctx, sb)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			rank, err := fc.rank(ctx, w, sb.player(rand.IntN(sb.players)))
			if err == nil && rank < 0 {
				err = errors.New("the player is not on the board")
			}
			return err
		},
		goal: "— (floor" + onPlayers() + ")",
	}
}
