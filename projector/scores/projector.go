// Package scores projects oof.score.v1 into the score history (PostgreSQL
// table scores), each player's standing per board (score_boards, the
// exactly-once source) and the Redis sorted sets leaderboards are read from
// (a copy of score_boards that a sync can rebuild at any time).
//
// Exactly once: a submission's history row is keyed by its id, so a
// redelivered event inserts nothing and is skipped before it touches a
// board. The Redis copy is written inside the batch, before its commit, so
// when a command's wait for this projector ends (at the commit) the boards
// already show the score; every Redis write sets a standing computed from
// PostgreSQL (never increments), so writing it again on a retried batch
// changes nothing.
package scores

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name.
const Name = projector.Scores

// Projector maintains the score read models.
type Projector struct {
	topic  string
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	log    *slog.Logger

	// syncMu keeps a sync from interleaving with a batch's Redis writes in
	// this process.
	syncMu sync.RWMutex
}

// New returns a projector reading the full oof.score.v1 topic name.
func New(scoreTopic string, pool *pgxpool.Pool, rdb *redis.Client, redisPrefix string, log *slog.Logger) *Projector {
	return &Projector{topic: scoreTopic, pool: pool, rdb: rdb, prefix: redisPrefix, log: log}
}

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

// Reset empties the read models (PostgreSQL and the Redis copy) for a rebuild.
func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `TRUNCATE scores, score_boards, score_board_updates`); err != nil {
		return err
	}
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	return p.wipe(ctx)
}

// Apply applies one event.
func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	return p.ApplyAll(ctx, tx, []projection.Event{{Env: env, Msg: msg}})
}

// ApplyAll applies a batch: the PostgreSQL work per event, in order, then
// the batch's Redis writes in one pipeline.
func (p *Projector) ApplyAll(ctx context.Context, tx pgx.Tx, events []projection.Event) error {
	if err := p.ensureSynced(ctx); err != nil {
		return err
	}
	p.syncMu.RLock()
	defer p.syncMu.RUnlock()
	var writes []boardWrite
	for _, ev := range events {
		e, ok := ev.Msg.(*eventspb.ScoreSubmitted)
		if !ok {
			continue // not an event this projector tracks
		}
		w, err := p.applyOne(ctx, tx, e)
		if err != nil {
			return fmt.Errorf("scores projector: %w", err)
		}
		writes = append(writes, w...)
	}
	return p.mirror(ctx, writes)
}

// applyOne records one submission and returns the board rows it changed.
func (p *Projector) applyOne(ctx context.Context, tx pgx.Tx, e *eventspb.ScoreSubmitted) ([]boardWrite, error) {
	s := e.GetScore()
	at := s.GetCreatedAt().AsTime()
	snap, err := projection.Snapshot(s)
	if err != nil {
		return nil, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO scores (id, player_id, game_id, score_type, value, created_at, submitted_by, snapshot)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		s.GetId(), s.GetPlayerId(), s.GetGameId(), s.GetScoreType(), s.GetValue(), at, e.GetSubmittedBy(), snap)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, nil // a redelivery: it has taken effect already
	}
	periods := Periods(at)
	boards := make([]string, 0, 2*len(periods))
	for _, per := range periods {
		boards = append(boards, Board(s.GetGameId(), s.GetScoreType(), per), Board(AllGames, s.GetScoreType(), per))
	}
	old, err := loadStandings(ctx, tx, s.GetPlayerId(), boards)
	if err != nil {
		return nil, err
	}
	var changed []boardWrite
	for i, per := range periods {
		gameBoard, allBoard := boards[2*i], boards[2*i+1]
		prev, had := old[gameBoard]
		var prevPtr *Standing
		if had {
			prevPtr = &prev
		}
		next, moved := Combine(e.GetOperator(), prevPtr, s.GetValue(), at, s.GetId())
		changed = append(changed, boardWrite{board: gameBoard, player: s.GetPlayerId(), at: at, moved: moved, old: prevPtr, next: next})
		// Across games a player's value is the sum of their results in each
		// game (docs/scores.md), so it moves by this game's change.
		delta := next.Value - prev.Value
		all, hadAll := old[allBoard]
		var allNext Standing
		allMoved := moved
		switch {
		case !hadAll:
			allNext, allMoved = Standing{Value: next.Value, Reached: at, ScoreID: s.GetId(), Sign: next.Sign}, true
		case moved:
			allNext = Standing{Value: saturatingAdd(all.Value, delta), Reached: at, ScoreID: s.GetId(), Sign: next.Sign}
			if at.Before(all.Reached) {
				allNext.Reached, allNext.ScoreID = all.Reached, all.ScoreID
			}
		default:
			allNext = all
		}
		var allPrev *Standing
		if hadAll {
			allPrev = &all
		}
		changed = append(changed, boardWrite{board: allBoard, player: s.GetPlayerId(), at: at, moved: allMoved, old: allPrev, next: allNext})
		_ = per
	}
	if err := saveStandings(ctx, tx, changed); err != nil {
		return nil, err
	}
	return changed, nil
}

// boardWrite is one board's outcome of a submission: the player's standing
// (moved: it changed) and the submission time (the board's last update).
type boardWrite struct {
	board, player string
	at            time.Time
	moved         bool
	old           *Standing
	next          Standing
}

func loadStandings(ctx context.Context, tx pgx.Tx, player string, boards []string) (map[string]Standing, error) {
	rows, err := tx.Query(ctx, `SELECT board, value, reached_at, score_id::text, sign FROM score_boards
		WHERE board = ANY($1) AND player_id = $2 FOR UPDATE`, boards, player)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]Standing, len(boards))
	for rows.Next() {
		var b string
		var s Standing
		if err := rows.Scan(&b, &s.Value, &s.Reached, &s.ScoreID, &s.Sign); err != nil {
			return nil, err
		}
		s.Reached = s.Reached.UTC()
		out[b] = s
	}
	return out, rows.Err()
}

func saveStandings(ctx context.Context, tx pgx.Tx, writes []boardWrite) error {
	b := &pgx.Batch{}
	for _, w := range writes {
		if w.moved {
			b.Queue(`INSERT INTO score_boards (board, player_id, value, reached_at, score_id, sign) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (board, player_id) DO UPDATE SET value = EXCLUDED.value, reached_at = EXCLUDED.reached_at,
				  score_id = EXCLUDED.score_id, sign = EXCLUDED.sign`,
				w.board, w.player, w.next.Value, w.next.Reached, w.next.ScoreID, w.next.Sign)
		}
		b.Queue(`INSERT INTO score_board_updates (board, updated_at) VALUES ($1, $2)
			ON CONFLICT (board) DO UPDATE SET updated_at = greatest(score_board_updates.updated_at, EXCLUDED.updated_at)`,
			w.board, w.at)
	}
	return tx.SendBatch(ctx, b).Close()
}
