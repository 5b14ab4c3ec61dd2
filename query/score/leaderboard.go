package score

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/validate"
	"github.com/oof-gg/platform/projector/scores"
	"github.com/oof-gg/platform/query/kit"
)

// pageScript reads one page of a board (KEYS[1] sorted set, KEYS[2] player
// index, KEYS[3] last update, KEYS[4] version) in one round trip. ARGV[1] is
// the mode: "top" (ARGV[5]: the version of a top page the reader keeps, or
// "": while the board is still at that version the script answers {-2}
// alone and the kept page is current, pagecache.go);
// "after" a cursor (ARGV[3] score, ARGV[4] member): the page starts right
// after where that entry stands or would stand, so entries that keep their
// place are neither skipped nor repeated while scores arrive; "around" a
// player (ARGV[4]): the page with them in its middle. It returns the first
// rank (0-based; -1: the player has no entry), the last update and up to
// ARGV[2]+1 members with scores (one more than a page: is there a next?)
// and the board's version.
//
// For "after" with an entry that has moved, a placeholder member just above
// the cursor's is added and removed inside the script (nobody sees it) to
// learn the position in O(log n).
var pageScript = redis.NewScript(`
local n = tonumber(ARGV[2])
local start = 0
local version = redis.call('GET', KEYS[4]) or ''
if ARGV[1] == 'top' and ARGV[5] ~= '' and version == ARGV[5] then return {-2} end
if ARGV[1] == 'after' then
  local s = redis.call('ZSCORE', KEYS[1], ARGV[4])
  if s and tonumber(s) == tonumber(ARGV[3]) then
    start = redis.call('ZREVRANK', KEYS[1], ARGV[4]) + 1
  else
    local probe = ARGV[4] .. '~'
    redis.call('ZADD', KEYS[1], ARGV[3], probe)
    start = redis.call('ZREVRANK', KEYS[1], probe)
    redis.call('ZREM', KEYS[1], probe)
  end
elseif ARGV[1] == 'around' then
  local m = redis.call('HGET', KEYS[2], ARGV[4])
  local r = m and redis.call('ZREVRANK', KEYS[1], m)
  if not r then return {-1, '', {}} end
  start = math.max(0, r - math.floor(n / 2))
end
return {start, redis.call('GET', KEYS[3]) or '', redis.call('ZREVRANGE', KEYS[1], start, start + n, 'WITHSCORES'), version}`)

// LeaderboardQuery is a GetLeaderboard request with the additions read at
// the edge: AroundPlayer (header x-oof-around-player).
type LeaderboardQuery struct {
	Req          *scorepb.LeaderboardRequest
	AroundPlayer string
}

// Leaderboard answers a page of a board, best first, with ranks (1-based,
// ties go to who reached the score first) and player names, and the cursor
// of the next page ("" on the last). Any authenticated user may read.
func (r *Reader) Leaderboard(ctx context.Context, caller auth.Principal, q LeaderboardQuery) (*scorepb.Leaderboard, string, error) {
	lb, next, _, err := r.page(ctx, caller, q)
	return lb, next, err
}

// page is Leaderboard, with the kept page when the answer is one (a top
// page at the board's current version; pagecache.go).
func (r *Reader) page(ctx context.Context, _ auth.Principal, q LeaderboardQuery) (*scorepb.Leaderboard, string, *keptPage, error) {
	req := q.Req
	period, err := checkLeaderboard(req, q.AroundPlayer, r.Now())
	if err != nil {
		return nil, "", nil, err
	}
	limit32 := req.GetLimit()
	limit, err := kit.PageSize(&limit32)
	if err != nil {
		return nil, "", nil, err
	}
	board, scoreType, err := r.board(ctx, req.GetGameId(), req.GetScoreType(), period)
	if err != nil {
		return nil, "", nil, err
	}
	top := pageKey{board: board, limit: limit}
	isTop := req.GetCursor() == "" && q.AroundPlayer == ""
	var kept *keptPage
	version := ""
	if isTop {
		if kept = r.pages.get(top); kept != nil {
			version = kept.version
		}
	}
	args := []any{"top", limit, "", "", version}
	if req.GetCursor() != "" {
		score, member, err := parseBoardCursor(req.GetCursor())
		if err != nil {
			return nil, "", nil, err
		}
		args = []any{"after", limit, scores.FormatScore(score), member, ""}
	} else if q.AroundPlayer != "" {
		args = []any{"around", limit, "", q.AroundPlayer, ""}
	}
	keys := []string{scores.ZKey(r.Prefix, board), scores.PKey(r.Prefix, board), scores.UKey(r.Prefix, board), scores.VKey(r.Prefix, board)}
	res, err := pageScript.Run(ctx, r.Redis, keys, args...).Slice()
	if err != nil {
		return nil, "", nil, err
	}
	start, _ := res[0].(int64)
	if start == -2 && kept != nil {
		return kept.lb, kept.next, kept, nil // the board has not changed since
	}
	if start < 0 || len(res) < 4 {
		return nil, "", nil, apperr.NotFound("the player has no score on this board")
	}
	lb := &scorepb.Leaderboard{GameId: req.GetGameId(), ScoreType: scoreType, TimePeriod: period}
	if u, _ := res[1].(string); u != "" {
		if us, err := strconv.ParseInt(u, 10, 64); err == nil {
			lb.LastUpdated = timestamppb.New(time.UnixMicro(us))
		}
	}
	items, _ := res[2].([]any)
	entries, last, err := r.entries(ctx, items, int(start), limit, req.GetGameId(), scoreType)
	if err != nil {
		return nil, "", nil, err
	}
	lb.Entries = entries
	next := ""
	if len(items)/2 > limit {
		next = boardCursor(last)
	}
	if version, _ := res[3].(string); isTop && version != "" && allNamed(entries) {
		kept = &keptPage{version: version, lb: lb, next: next}
		r.pages.put(top, kept)
		return lb, next, kept, nil
	}
	return lb, next, nil, nil
}

// allNamed: a page with a player whose name is not known yet is not kept
// (the name may appear before the board changes).
func allNamed(entries []*scorepb.LeaderboardEntry) bool {
	for _, e := range entries {
		if e.GetPlayerName() == "" {
			return false
		}
	}
	return true
}

// entries decodes up to limit (member, score) pairs into ranked entries
// and returns the last one shown (for the next cursor).
func (r *Reader) entries(ctx context.Context, items []any, start, limit int, game, scoreType string) ([]*scorepb.LeaderboardEntry, redis.Z, error) {
	var last redis.Z
	var out []*scorepb.LeaderboardEntry
	var ids []string
	for i := 0; i+1 < len(items) && len(out) < limit; i += 2 {
		member, _ := items[i].(string)
		raw, _ := items[i+1].(string)
		score, err := strconv.ParseFloat(raw, 64)
		player, st, ok := scores.ParseMember(member, score)
		if err != nil || !ok {
			return nil, last, apperr.Internal("decode board entry", fmt.Errorf("member %q score %q", member, raw))
		}
		last = redis.Z{Score: score, Member: member}
		ids = append(ids, player)
		out = append(out, &scorepb.LeaderboardEntry{Rank: int32(start + len(out) + 1), Score: &scorepb.Score{
			Id: st.ScoreID, PlayerId: player, GameId: game, Value: st.Value, ScoreType: scoreType,
			CreatedAt: timestamppb.New(st.Reached),
		}})
	}
	names, err := r.names(ctx, ids)
	if err != nil {
		return nil, last, err
	}
	for _, e := range out {
		e.PlayerName = names[e.GetScore().GetPlayerId()]
	}
	return out, last, nil
}

func checkLeaderboard(req *scorepb.LeaderboardRequest, around string, now time.Time) (string, error) {
	var c validate.Checks
	if req.GetGameId() != "" {
		c.ID("game_id", req.GetGameId())
	}
	if t := req.GetScoreType(); t != "" && !scores.ValidType(t) {
		c.Add("score_type", "must be empty (the game's primary type) or 1 to 32 of A-Z a-z 0-9 _ . -")
	}
	period, ok := scores.ResolvePeriod(req.GetTimePeriod(), now)
	if !ok {
		c.Add("time_period", `must be all_time, daily, weekly, monthly, or a period id like "daily:2026-05-17", "weekly:2026-W20", "monthly:2026-05"`)
	}
	if around != "" {
		c.ID("x-oof-around-player", around)
		if req.GetCursor() != "" {
			c.Add("cursor", "cannot be combined with x-oof-around-player")
		}
	}
	return period, c.Err()
}

// Board cursors are "b:<score>:<member>" of the last entry shown: a place
// in the order, not an offset, so arriving scores do not shift pages.
func boardCursor(z redis.Z) string {
	m, _ := z.Member.(string)
	return base64.RawURLEncoding.EncodeToString([]byte("b:" + scores.FormatScore(z.Score) + ":" + m))
}

func parseBoardCursor(c string) (float64, string, error) {
	bad := apperr.Invalid("cursor", "not a cursor from this API")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", bad
	}
	rest, ok := strings.CutPrefix(string(raw), "b:")
	num, member, ok2 := strings.Cut(rest, ":")
	score, perr := strconv.ParseFloat(num, 64)
	if !ok || !ok2 || perr != nil {
		return 0, "", bad
	}
	if _, _, ok := scores.ParseMember(member, score); !ok {
		return 0, "", bad
	}
	return score, member, nil
}
