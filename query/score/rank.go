package score

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"

	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/validate"
	"github.com/oof-gg/platform/projector/scores"
)

// rankScript finds a player's entry on a board (KEYS[1] sorted set, KEYS[2]
// player index) in one round trip: {0-based rank or -1, score, size}.
var rankScript = redis.NewScript(`
local m = redis.call('HGET', KEYS[2], ARGV[1])
local r = m and redis.call('ZREVRANK', KEYS[1], m)
if not r then return {-1, '', redis.call('ZCARD', KEYS[1])} end
return {r, redis.call('ZSCORE', KEYS[1], m), redis.call('ZCARD', KEYS[1]), m}`)

// Rank answers a player's all-time rank (1-based) on a board: of one game
// and score_type; with an empty score_type the game's primary type; with
// an empty game_id across all games (each player's value is the sum of
// their results per game); both empty: "points" across all games. A
// player with no score there is NOT_FOUND. Any authenticated user may read.
func (r *Reader) Rank(ctx context.Context, _ auth.Principal, req *scorepb.PlayerRankRequest) (*scorepb.PlayerRankResponse, error) {
	var c validate.Checks
	c.ID("player_id", req.GetPlayerId())
	if req.GetGameId() != "" {
		c.ID("game_id", req.GetGameId())
	}
	if t := req.GetScoreType(); t != "" && !scores.ValidType(t) {
		c.Add("score_type", "must be empty (overall) or 1 to 32 of A-Z a-z 0-9 _ . -")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	board, scoreType, err := r.board(ctx, req.GetGameId(), req.GetScoreType(), scores.AllTime)
	if err != nil {
		return nil, err
	}
	res, err := rankScript.Run(ctx, r.Redis, []string{scores.ZKey(r.Prefix, board), scores.PKey(r.Prefix, board)}, req.GetPlayerId()).Slice()
	if err != nil {
		return nil, err
	}
	rank, _ := res[0].(int64)
	if rank < 0 {
		return nil, apperr.NotFound("the player has no score on this board")
	}
	raw, _ := res[1].(string)
	size, _ := res[2].(int64)
	member, _ := res[3].(string)
	score, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return nil, apperr.Internal("decode board score", err)
	}
	_, st, ok := scores.ParseMember(member, score)
	if !ok {
		return nil, apperr.Internal("decode board entry", nil)
	}
	return &scorepb.PlayerRankResponse{
		PlayerId: req.GetPlayerId(), GameId: req.GetGameId(), ScoreType: scoreType,
		Rank: int32(rank + 1), ScoreValue: st.Value, TotalPlayers: int32(size),
	}, nil
}
