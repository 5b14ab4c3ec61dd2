package scores

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	"github.com/oof-gg/platform/pkg/projection"
)

// A batch is applied in a fixed number of statements whatever its size
// (docs/scores.md): one round trip inserts the history rows and reads and
// locks the standings every submission touches, the new standings are
// computed here event by event in order (exactly what one event at a time
// would give), and one statement each writes the changed standings and the
// boards' last updates.

// submission is one ScoreSubmitted of a batch.
type submission struct {
	e    *eventspb.ScoreSubmitted
	id   string    // canonical score id (as PostgreSQL prints it)
	at   time.Time // created_at as PostgreSQL keeps it (µs)
	snap []byte
}

// submissions picks a batch's ScoreSubmitted events, the first of each
// score id (a redelivered event later in the same batch changes nothing).
func submissions(events []projection.Event) ([]submission, error) {
	out := make([]submission, 0, len(events))
	seen := make(map[string]bool, len(events))
	for _, ev := range events {
		e, ok := ev.Msg.(*eventspb.ScoreSubmitted)
		if !ok {
			continue // not an event this projector tracks
		}
		s := e.GetScore()
		id := s.GetId()
		if u, err := uuid.Parse(id); err == nil {
			id = u.String()
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		snap, err := projection.Snapshot(s)
		if err != nil {
			return nil, err
		}
		// Standings keep the time PostgreSQL stores (microseconds), so what
		// the batch computes and mirrors is what a rebuild from the table
		// reads back.
		at := s.GetCreatedAt().AsTime().Truncate(time.Microsecond)
		out = append(out, submission{e: e, id: id, at: at, snap: snap})
	}
	return out, nil
}

// boardsOf are the 8 boards a submission is filed under: per period, the
// game's and all games'.
func boardsOf(s submission) [8]string {
	var b [8]string
	sc := s.e.GetScore()
	for i, per := range Periods(s.at) {
		b[2*i] = Board(sc.GetGameId(), sc.GetScoreType(), per)
		b[2*i+1] = Board(AllGames, sc.GetScoreType(), per)
	}
	return b
}

type standingKey struct{ board, player string }

// boardWrite is the outcome of a batch on one player's entry of a board:
// the final standing, and whether any submission moved it.
type boardWrite struct {
	board, player string
	moved         bool
	next          Standing
}

// outcome is what a batch changes: the entries (in first-touched order) and
// each board's latest submission time.
type outcome struct {
	writes  []boardWrite
	updated map[string]time.Time
}

// loadBatch inserts the history rows (returning the ids that are new: the
// others were applied before) and reads the standings of every entry the
// batch touches, locked, in one round trip.
func loadBatch(ctx context.Context, tx pgx.Tx, subs []submission) (map[string]bool, map[standingKey]Standing, error) {
	n := len(subs)
	ids, players, games, types, submitters := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	values, ats, snaps := make([]int64, n), make([]time.Time, n), make([][]byte, n)
	keyBoards, keyPlayers := make([]string, 0, 8*n), make([]string, 0, 8*n)
	seen := make(map[standingKey]bool, 8*n)
	for i, s := range subs {
		sc := s.e.GetScore()
		ids[i], players[i], games[i], types[i], submitters[i] = s.id, sc.GetPlayerId(), sc.GetGameId(), sc.GetScoreType(), s.e.GetSubmittedBy()
		values[i], ats[i], snaps[i] = sc.GetValue(), s.at, s.snap
		for _, b := range boardsOf(s) {
			k := standingKey{b, sc.GetPlayerId()}
			if !seen[k] {
				seen[k] = true
				keyBoards, keyPlayers = append(keyBoards, b), append(keyPlayers, k.player)
			}
		}
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO scores (id, player_id, game_id, score_type, value, created_at, submitted_by, snapshot)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::timestamptz[], $7::text[], $8::bytea[])
		ON CONFLICT (id) DO NOTHING RETURNING id::text`,
		ids, players, games, types, values, ats, submitters, snaps)
	// The join drives index lookups by the keys (a handful per submission),
	// never a scan of the boards.
	b.Queue(`SELECT k.board, k.player_id, s.value, s.reached_at, s.score_id::text, s.sign
		FROM unnest($1::text[], $2::text[]) AS k(board, player_id)
		JOIN score_boards s ON s.board = k.board AND s.player_id = k.player_id
		FOR UPDATE OF s`, keyBoards, keyPlayers)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	fresh := make(map[string]bool, n)
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, nil, err
		}
		fresh[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	old := make(map[standingKey]Standing, len(keyBoards))
	rows, err = br.Query()
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k standingKey
		var s Standing
		if err := rows.Scan(&k.board, &k.player, &s.Value, &s.Reached, &s.ScoreID, &s.Sign); err != nil {
			return nil, nil, err
		}
		s.Reached = s.Reached.UTC()
		old[k] = s
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return fresh, old, br.Close()
}

// combineBatch applies the new submissions (fresh) to the standings (old,
// updated in place), in order, and returns what changed.
func combineBatch(subs []submission, fresh map[string]bool, old map[standingKey]Standing) outcome {
	out := outcome{updated: map[string]time.Time{}}
	index := map[standingKey]int{}
	record := func(k standingKey, moved bool, next Standing, at time.Time) {
		if t, ok := out.updated[k.board]; !ok || at.After(t) {
			out.updated[k.board] = at
		}
		if i, ok := index[k]; ok {
			out.writes[i].moved = out.writes[i].moved || moved
			out.writes[i].next = next
			return
		}
		index[k] = len(out.writes)
		out.writes = append(out.writes, boardWrite{board: k.board, player: k.player, moved: moved, next: next})
	}
	for _, s := range subs {
		if !fresh[s.id] {
			continue // a redelivery: it has taken effect already
		}
		sc, at := s.e.GetScore(), s.at
		boards := boardsOf(s)
		for i := 0; i < len(boards); i += 2 {
			gk, ak := standingKey{boards[i], sc.GetPlayerId()}, standingKey{boards[i+1], sc.GetPlayerId()}
			prev, had := old[gk]
			var prevPtr *Standing
			if had {
				prevPtr = &prev
			}
			next, moved := Combine(s.e.GetOperator(), prevPtr, sc.GetValue(), at, s.id)
			old[gk] = next
			record(gk, moved, next, at)
			// Across games a player's value is the sum of their results in
			// each game (docs/scores.md), so it moves by this game's change.
			delta := next.Value - prev.Value
			all, hadAll := old[ak]
			allNext, allMoved := all, moved
			switch {
			case !hadAll:
				allNext, allMoved = Standing{Value: next.Value, Reached: at, ScoreID: s.id, Sign: next.Sign}, true
			case moved:
				allNext = Standing{Value: saturatingAdd(all.Value, delta), Reached: at, ScoreID: s.id, Sign: next.Sign}
				if at.Before(all.Reached) {
					allNext.Reached, allNext.ScoreID = all.Reached, all.ScoreID
				}
			}
			old[ak] = allNext
			record(ak, allMoved, allNext, at)
		}
	}
	return out
}

// queueSave queues the batch's writes: the moved standings, then the
// boards' last updates in board order (the rows every partition's batches
// update, so they are locked in one order, and with the commit's round
// trip when the runner sends these with it).
func queueSave(b *pgx.Batch, out outcome) {
	var bs, ps, sids []string
	var vals []int64
	var ats []time.Time
	var signs []int16
	for _, w := range out.writes {
		if !w.moved {
			continue
		}
		bs, ps, vals, ats, sids, signs = append(bs, w.board), append(ps, w.player), append(vals, w.next.Value),
			append(ats, w.next.Reached), append(sids, w.next.ScoreID), append(signs, w.next.Sign)
	}
	if len(bs) > 0 {
		b.Queue(`INSERT INTO score_boards (board, player_id, value, reached_at, score_id, sign)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::uuid[], $6::smallint[])
			ON CONFLICT (board, player_id) DO UPDATE SET value = EXCLUDED.value, reached_at = EXCLUDED.reached_at,
			  score_id = EXCLUDED.score_id, sign = EXCLUDED.sign`,
			bs, ps, vals, ats, sids, signs)
	}
	if len(out.updated) == 0 {
		return
	}
	boards := make([]string, 0, len(out.updated))
	for board := range out.updated {
		boards = append(boards, board)
	}
	slices.SortFunc(boards, strings.Compare)
	times := make([]time.Time, len(boards))
	for i, board := range boards {
		times[i] = out.updated[board]
	}
	b.Queue(`INSERT INTO score_board_updates (board, updated_at)
		SELECT * FROM unnest($1::text[], $2::timestamptz[])
		ON CONFLICT (board) DO UPDATE SET updated_at = greatest(score_board_updates.updated_at, EXCLUDED.updated_at)`,
		boards, times)
}
