package score

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/validate"
	"github.com/oof-gg/platform/query/kit"
)

// PlayerScores answers a player's submissions (player_id empty: the
// caller's), newest first, optionally of one game, a page at a time, with
// the total count and the next page's cursor ("" on the last page). Any
// authenticated user may read.
func (r *Reader) PlayerScores(ctx context.Context, caller auth.Principal, req *scorepb.PlayerScoresRequest) (*scorepb.PlayerScoresResponse, string, error) {
	player := req.GetPlayerId()
	if player == "" {
		player = caller.UserID
	}
	var c validate.Checks
	c.ID("player_id", player)
	if req.GetGameId() != "" {
		c.ID("game_id", req.GetGameId())
	}
	if err := c.Err(); err != nil {
		return nil, "", err
	}
	limit32 := req.GetLimit()
	limit, err := kit.PageSize(&limit32)
	if err != nil {
		return nil, "", err
	}
	after, afterID, err := parseHistoryCursor(req.GetCursor())
	if err != nil {
		return nil, "", err
	}
	// One round trip: the page and the count.
	b := &pgx.Batch{}
	game := req.GetGameId()
	b.Queue(`SELECT snapshot, created_at, id::text FROM scores
		WHERE player_id = $1 AND ($2 = '' OR game_id = nullif($2, '')::uuid)
		  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $5`, player, game, after, afterID, limit+1)
	b.Queue(`SELECT count(*) FROM scores WHERE player_id = $1 AND ($2 = '' OR game_id = nullif($2, '')::uuid)`, player, game)
	br := r.Pool.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, "", err
	}
	out := &scorepb.PlayerScoresResponse{PlayerId: player, GameId: game}
	var lastAt time.Time
	var lastID string
	more := false
	for rows.Next() {
		var snap []byte
		var at time.Time
		var id string
		if err := rows.Scan(&snap, &at, &id); err != nil {
			rows.Close()
			return nil, "", err
		}
		if len(out.Scores) == limit {
			more = true
			continue
		}
		s, err := kit.Decode(snap, func() *scorepb.Score { return &scorepb.Score{} })
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out.Scores = append(out.Scores, s)
		lastAt, lastID = at, id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var total int64
	if err := br.QueryRow().Scan(&total); err != nil {
		return nil, "", err
	}
	out.TotalCount = int32(min(total, int64(^uint32(0)>>1)))
	next := ""
	if more {
		next = historyCursor(lastAt, lastID)
	}
	return out, next, nil
}

// History cursors are "h:<created_at µs>:<id>" of the last score shown.
func historyCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("h:" + strconv.FormatInt(at.UnixMicro(), 10) + ":" + id))
}

func parseHistoryCursor(c string) (*time.Time, *string, error) {
	if c == "" {
		return nil, nil, nil
	}
	bad := apperr.Invalid("cursor", "not a cursor from this API")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, nil, bad
	}
	rest, ok := strings.CutPrefix(string(raw), "h:")
	us, id, ok2 := strings.Cut(rest, ":")
	n, perr := strconv.ParseInt(us, 10, 64)
	if _, uerr := uuid.Parse(id); !ok || !ok2 || perr != nil || uerr != nil {
		return nil, nil, bad
	}
	at := time.UnixMicro(n).UTC()
	return &at, &id, nil
}
