package scores

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
)

// A board ranks players of one game (or of all games, AllGames) by one
// score_type over one period. Its id is "<game>:<score_type>:<period>",
// where period is "all_time" or a calendar period in UTC:
// "daily:2026-05-17", "weekly:2026-W20" (ISO weeks, from Monday),
// "monthly:2026-05". A past period keeps its own board.
const (
	AllGames = "*"
	AllTime  = "all_time"
)

// Period names a client may ask for (Leaderboard.time_period).
const (
	Daily   = "daily"
	Weekly  = "weekly"
	Monthly = "monthly"
)

// Board is a board's id.
func Board(game, scoreType, period string) string { return game + ":" + scoreType + ":" + period }

// Periods are the ids of the periods an instant belongs to: all-time and
// its UTC day, ISO week and month. The projector files a submission under
// the periods of its own time (not the clock), so a replay files it alike.
func Periods(t time.Time) [4]string {
	t = t.UTC()
	y, w := t.ISOWeek()
	return [4]string{
		AllTime,
		Daily + ":" + t.Format("2006-01-02"),
		fmt.Sprintf("%s:%04d-W%02d", Weekly, y, w),
		Monthly + ":" + t.Format("2006-01"),
	}
}

// ResolvePeriod turns a requested time_period into a period id: "" and
// "all_time" are all-time; "daily", "weekly", "monthly" the one containing
// now (UTC); a full id ("weekly:2026-W48") names a past or current one.
func ResolvePeriod(name string, now time.Time) (string, bool) {
	switch name {
	case "", AllTime:
		return AllTime, true
	case Daily:
		return Periods(now)[1], true
	case Weekly:
		return Periods(now)[2], true
	case Monthly:
		return Periods(now)[3], true
	}
	kind, id, ok := strings.Cut(name, ":")
	if !ok {
		return "", false
	}
	switch kind {
	case Daily:
		t, err := time.Parse("2006-01-02", id)
		return name, err == nil && t.Format("2006-01-02") == id
	case Monthly:
		t, err := time.Parse("2006-01", id)
		return name, err == nil && t.Format("2006-01") == id
	case Weekly:
		var y, w int
		if n, err := fmt.Sscanf(id, "%04d-W%02d", &y, &w); err != nil || n != 2 || fmt.Sprintf("%04d-W%02d", y, w) != id {
			return "", false
		}
		return name, y >= 1 && y <= 9999 && w >= 1 && w <= 53
	}
	return "", false
}

// Standing is a player's row on a board.
type Standing struct {
	Value   int64
	Reached time.Time // when the player reached Value
	ScoreID string    // the submission that set it
	Sign    int16     // -1: the board ranks lowest first
}

// SortScore is the sorted-set score: boards are read highest first, so a
// lowest-first board stores the negated value.
func (s Standing) SortScore() float64 { return float64(s.Value) * float64(s.Sign) }

// SignOf is the direction an operator ranks in.
func SignOf(op eventspb.ScoreOperator) int16 {
	if op == eventspb.ScoreOperator_SCORE_OPERATOR_BEST_LOWEST {
		return -1
	}
	return 1
}

// Combine applies one submission (value at t, id) to a player's standing
// (nil: none yet) with op. It returns the new standing and whether it
// changed. Ties go to whoever reached the value first, so an equal value
// later never replaces a best. The result depends only on the submissions,
// not on the order they arrive in (latest compares times, then ids), so a
// rebuild from the log gives the same boards.
func Combine(op eventspb.ScoreOperator, old *Standing, value int64, at time.Time, id string) (Standing, bool) {
	next := Standing{Value: value, Reached: at, ScoreID: id, Sign: SignOf(op)}
	if old == nil {
		return next, true
	}
	switch op {
	case eventspb.ScoreOperator_SCORE_OPERATOR_SUM:
		next.Value = saturatingAdd(old.Value, value)
		// Reached the new total at the later of the two times.
		if at.Before(old.Reached) || (at.Equal(old.Reached) && id < old.ScoreID) {
			next.Reached, next.ScoreID = old.Reached, old.ScoreID
		}
		return next, true
	case eventspb.ScoreOperator_SCORE_OPERATOR_LATEST:
		if at.Before(old.Reached) || (at.Equal(old.Reached) && id <= old.ScoreID) {
			return *old, false
		}
		return next, true
	case eventspb.ScoreOperator_SCORE_OPERATOR_BEST_LOWEST:
		if value < old.Value || (value == old.Value && earlier(at, id, old)) {
			return next, true
		}
		return *old, false
	default: // best highest
		if value > old.Value || (value == old.Value && earlier(at, id, old)) {
			return next, true
		}
		return *old, false
	}
}

// earlier reports whether (at, id) reached a value before old did.
func earlier(at time.Time, id string, old *Standing) bool {
	return at.Before(old.Reached) || (at.Equal(old.Reached) && id < old.ScoreID)
}

func saturatingAdd(a, b int64) int64 {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// Members of a board's sorted set are "<inverted reached time><player id>
// <score id><sign>": equal scores order by member, and boards are read
// highest first, so the inverted time puts whoever reached a score first
// ahead. Player and score ids are UUIDs (36 characters); sign is '+' or '-'
// (a lowest-first board stores negated values). Every member has MemberLen
// bytes.
const (
	timeDigits = 16
	MemberLen  = timeDigits + 36 + 36 + 1
)

// Member encodes a standing's sorted-set member.
func Member(player string, s Standing) string {
	inv := uint64(math.MaxInt64 - s.Reached.UnixNano())
	sign := "+"
	if s.Sign < 0 {
		sign = "-"
	}
	return fmt.Sprintf("%016x", inv) + player + s.ScoreID + sign
}

// ParseMember decodes a member and its sorted-set score into the player and
// their standing.
func ParseMember(m string, score float64) (player string, s Standing, ok bool) {
	if len(m) != MemberLen {
		return "", Standing{}, false
	}
	inv, err := strconv.ParseUint(m[:timeDigits], 16, 64)
	if err != nil {
		return "", Standing{}, false
	}
	s = Standing{Reached: time.Unix(0, math.MaxInt64-int64(inv)).UTC(), ScoreID: m[timeDigits+36 : MemberLen-1], Sign: 1}
	if m[MemberLen-1] == '-' {
		s.Sign = -1
	}
	s.Value = int64(score) * int64(s.Sign)
	return m[timeDigits : timeDigits+36], s, true
}

// Redis keys. The game id is a hash tag, so one game's boards share a
// cluster slot.
func gamePart(board string) (game, rest string) {
	game, rest, _ = strings.Cut(board, ":")
	return game, rest
}

// ZKey is a board's sorted set.
func ZKey(prefix, board string) string {
	g, rest := gamePart(board)
	return prefix + "score:{" + g + "}:" + rest
}

// PKey is a board's hash player id -> member (to find a player's entry).
func PKey(prefix, board string) string { return ZKey(prefix, board) + ":p" }

// UKey holds a board's last update, in Unix nanoseconds.
func UKey(prefix, board string) string { return ZKey(prefix, board) + ":u" }

// VKey holds a board's version: a token every write to the board replaces
// with one never used before (readers may keep what they read at a version
// while it is current).
func VKey(prefix, board string) string { return ZKey(prefix, board) + ":v" }

// MarkerKey exists while Redis holds the boards (set by a sync): a Redis
// that lost its data lacks it, and the projector copies the boards again.
func MarkerKey(prefix string) string { return prefix + "score:synced" }

// NamesKey caches player names for leaderboards.
func NamesKey(prefix string) string { return prefix + "score:names" }

// KeyPattern matches every key of the boards (for a reset).
func KeyPattern(prefix string) string { return prefix + "score:*" }
