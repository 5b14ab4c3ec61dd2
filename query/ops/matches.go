package ops

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"

	"github.com/oof-gg/platform/pkg/apperr"
)

// Range is where one session's events are on one partition of a topic.
// Records of other sessions may lie between First and Last.
type Range struct {
	Topic       string
	Partition   int32
	First, Last int64
	Count       int64 // this session's records in the range
}

// Match is one finished match (match_history) with the ranges of its
// session lifecycle events and, when it had any, of its live events.
type Match struct {
	SessionID, GameID string
	UserIDs           []string
	StartedAt         *time.Time
	EndedAt           time.Time
	FinalState        int32
	Session           Range
	Live              *Range
}

// EventCount is every event of the match, lifecycle and live.
func (m Match) EventCount() int64 {
	n := m.Session.Count
	if m.Live != nil {
		n += m.Live.Count
	}
	return n
}

// Spectators are who may watch a session's replay besides admins
// (authz.CanWatchMatch): its players (from the session's current
// snapshot), host and game owner.
type Spectators struct {
	Host, GameOwner string
	Players         []string
}

// Spectators reads them for a session, finished or not; ok is false when
// there is no such session.
func (q *Matches) Spectators(ctx context.Context, sessionID string) (Spectators, bool, error) {
	if _, err := uuid.Parse(sessionID); err != nil || len(sessionID) != 36 {
		return Spectators{}, false, apperr.Invalid("session_id", "must be a session id (UUID)")
	}
	var sp Spectators
	var snap []byte
	var owner *string
	err := q.Pool.QueryRow(ctx, `SELECT s.host_id, s.snapshot, g.owner_id FROM sessions s
		LEFT JOIN games g ON g.id = s.game_id WHERE s.id = $1::uuid`, sessionID).Scan(&sp.Host, &snap, &owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return Spectators{}, false, nil
	}
	if err != nil {
		return Spectators{}, false, err
	}
	if owner != nil {
		sp.GameOwner = *owner
	}
	s := &gamepb.Session{}
	if err := proto.Unmarshal(snap, s); err != nil {
		return Spectators{}, false, apperr.Internal("session snapshot", err)
	}
	sp.Players = s.GetUserIds()
	return sp, true, nil
}

// MatchFilter narrows ListMatches; zero fields do not filter.
type MatchFilter struct {
	GameID, UserID string
	Since, Until   time.Time // EndedAt in [Since, Until)
	Limit          int
	Cursor         string
}

// Matches reads match history (PostgreSQL only, so the query target could
// serve it too).
type Matches struct{ Pool *pgxpool.Pool }

const matchColumns = `SELECT m.session_id::text, m.game_id::text, m.user_ids, m.started_at, m.ended_at, m.final_state,
	m.kafka_topic, m.kafka_partition, m.first_offset, m.last_offset, m.session_event_count,
	r.kafka_topic, r.kafka_partition, r.first_offset, r.last_offset, r.event_count
	FROM match_history m LEFT JOIN live_event_ranges r ON r.session_id = m.session_id::text `

// Get returns one match, NOT_FOUND when the session has not finished (or
// does not exist).
func (q *Matches) Get(ctx context.Context, sessionID string) (Match, error) {
	if _, err := uuid.Parse(sessionID); err != nil || len(sessionID) != 36 {
		return Match{}, apperr.Invalid("session_id", "must be a session id (UUID)")
	}
	rows, err := q.Pool.Query(ctx, matchColumns+`WHERE m.session_id = $1::uuid`, sessionID)
	if err != nil {
		return Match{}, err
	}
	ms, err := scanMatches(rows)
	if err != nil {
		return Match{}, err
	}
	if len(ms) == 0 {
		return Match{}, apperr.NotFound("no finished match with session id " + sessionID)
	}
	return ms[0], nil
}

// List returns a page of matches, newest end first, and the cursor of the
// next page ("" after the last).
func (q *Matches) List(ctx context.Context, f MatchFilter) ([]Match, string, error) {
	var fields []apperr.FieldViolation
	var game any
	if f.GameID != "" {
		if _, err := uuid.Parse(f.GameID); err != nil || len(f.GameID) != 36 {
			fields = append(fields, apperr.FieldViolation{Field: "game_id", Description: "must be a game id (UUID)"})
		}
		game = f.GameID
	}
	var user, since, until any
	if f.UserID != "" {
		user = f.UserID
	}
	if !f.Since.IsZero() {
		since = f.Since
	}
	if !f.Until.IsZero() {
		until = f.Until
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 500:
		fields = append(fields, apperr.FieldViolation{Field: "limit", Description: "must be between 1 and 500"})
	}
	var afterAt, afterID any
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			fields = append(fields, apperr.FieldViolation{Field: "cursor", Description: "not a cursor of this list"})
		} else {
			afterAt, afterID = at, id
		}
	}
	if len(fields) > 0 {
		return nil, "", apperr.InvalidFields(fields)
	}
	rows, err := q.Pool.Query(ctx, matchColumns+`
		WHERE ($1::uuid IS NULL OR m.game_id = $1::uuid)
		  AND ($2::text IS NULL OR m.user_ids @> ARRAY[$2::text])
		  AND ($3::timestamptz IS NULL OR m.ended_at >= $3)
		  AND ($4::timestamptz IS NULL OR m.ended_at < $4)
		  AND ($5::timestamptz IS NULL OR (m.ended_at, m.session_id) < ($5, $6::uuid))
		ORDER BY m.ended_at DESC, m.session_id DESC LIMIT $7`,
		game, user, since, until, afterAt, afterID, limit+1)
	if err != nil {
		return nil, "", err
	}
	ms, err := scanMatches(rows)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > limit {
		ms = ms[:limit]
		last := ms[limit-1]
		next = encodeCursor(last.EndedAt, last.SessionID)
	}
	return ms, next, nil
}

func scanMatches(rows pgx.Rows) ([]Match, error) {
	defer rows.Close()
	var out []Match
	for rows.Next() {
		var m Match
		var lt *string
		var lp *int32
		var lf, ll, lc *int64
		if err := rows.Scan(&m.SessionID, &m.GameID, &m.UserIDs, &m.StartedAt, &m.EndedAt, &m.FinalState,
			&m.Session.Topic, &m.Session.Partition, &m.Session.First, &m.Session.Last, &m.Session.Count,
			&lt, &lp, &lf, &ll, &lc); err != nil {
			return nil, err
		}
		if lt != nil {
			m.Live = &Range{Topic: *lt, Partition: *lp, First: *lf, Last: *ll, Count: *lc}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// The cursor is the last row's sort key: its end time (microseconds, as
// PostgreSQL keeps it) and session id.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", err
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, "", errors.New("no separator")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, "", err
	}
	if _, err := uuid.Parse(id); err != nil {
		return time.Time{}, "", err
	}
	return t, id, nil
}
