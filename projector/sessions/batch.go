package sessions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/projection"
)

// ApplyAll applies a batch with Apply's exact effect but in two round
// trips instead of one or two per event: it reads the rows the batch
// touches, applies the events to them in memory in order (the same version
// guards, counts and match-history rule as Apply), and writes each
// changed row once. A match's ten lifecycle events become one row write,
// which is what lets `oof rebuild sessions` keep up with reading the topic
// (docs/benchmarks.md). A batch with an id PostgreSQL might read
// differently than Go (not the canonical 36-character form), or of fewer
// than minBatched events, goes through Apply, event by event.
func (p *Projector) ApplyAll(ctx context.Context, tx pgx.Tx, events []projection.Event) error {
	ids, ok := batchIDs(events)
	// Fewer events than the batched path's two round trips: Apply's one
	// statement each is quicker (a command waiting for its one event).
	if !ok || len(events) < minBatched {
		for _, ev := range events {
			if err := p.Apply(ctx, tx, ev.Env, ev.Msg); err != nil {
				return err
			}
		}
		return nil
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := loadRows(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("sessions projector: %w", err)
	}
	f := fold{rows: rows}
	for _, ev := range events {
		if err := f.apply(ev); err != nil {
			return fmt.Errorf("sessions projector: %w", err)
		}
	}
	if err := f.write(ctx, tx); err != nil {
		return fmt.Errorf("sessions projector: %w", err)
	}
	return nil
}

// minBatched is the smallest batch ApplyAll folds.
const minBatched = 3

// batchIDs lists the session ids of the batch's events; ok is false when
// one is not a canonical UUID (or a new session's game id is not).
func batchIDs(events []projection.Event) ([]string, bool) {
	seen := map[string]bool{}
	var ids []string
	for _, ev := range events {
		var id string
		switch e := ev.Msg.(type) {
		case *eventspb.SessionCreated:
			id = e.GetSession().GetId()
			if !canonical(e.GetSession().GetGameId()) {
				return nil, false
			}
		case *eventspb.SessionUpdated:
			id = e.GetSession().GetId()
		case *eventspb.SessionDeleted:
			id = e.GetSessionId()
		default:
			continue
		}
		if !canonical(id) {
			return nil, false
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, true
}

// canonical: lower-case 8-4-4-4-12 hex, read alike by Go and PostgreSQL.
func canonical(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && len(id) == 36 && u.String() == id
}

// row is a sessions row as the batch leaves it.
type row struct {
	id, gameID, hostID string
	state              int32
	version            int64
	raw                []byte          // the stored snapshot, until an event replaces it
	snap               *gamepb.Session // the snapshot an event set (written encoded)
	partition          int32
	firstOffset        int64
	createdAt          time.Time
	updatedAt          time.Time
	startedAt          pgtype.Timestamptz
	eventCount         int64
	isNew, dirty       bool
}

func loadRows(ctx context.Context, tx pgx.Tx, ids []string) (map[string]*row, error) {
	// Every column the UPDATE in write sets, and what match_history copies.
	rs, err := tx.Query(ctx, `SELECT id::text, game_id::text, state, version, snapshot, kafka_partition, first_offset,
		started_at, updated_at, event_count
		FROM sessions WHERE id = ANY($1::text[]::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make(map[string]*row, len(ids))
	for rs.Next() {
		r := &row{}
		if err := rs.Scan(&r.id, &r.gameID, &r.state, &r.version, &r.raw, &r.partition, &r.firstOffset,
			&r.startedAt, &r.updatedAt, &r.eventCount); err != nil {
			return nil, err
		}
		out[r.id] = r
	}
	return out, rs.Err()
}

// finished is a match_history row.
type finished struct {
	r          row
	userIDs    []string
	endedAt    time.Time
	snap       *gamepb.Session
	topic      string
	lastOffset int64
}

type fold struct {
	rows    map[string]*row
	matches []finished
	done    map[string]bool // sessions given a match_history row in this batch
}

func (f *fold) apply(ev projection.Event) error {
	switch e := ev.Msg.(type) {
	case *eventspb.SessionCreated:
		s := e.GetSession()
		if _, exists := f.rows[s.GetId()]; exists {
			return nil // ON CONFLICT (id) DO NOTHING
		}
		at := e.GetCreatedAt().AsTime()
		r := &row{id: s.GetId(), gameID: s.GetGameId(), hostID: e.GetHostId(), state: int32(s.GetState()),
			version: e.GetVersion(), snap: s, partition: ev.Env.Partition, firstOffset: ev.Env.Offset,
			createdAt: at, updatedAt: at, eventCount: 1, isNew: true}
		if s.GetState() == gamepb.GameState_STATE_STARTED {
			r.startedAt = pgtype.Timestamptz{Time: at, Valid: true}
		}
		f.rows[r.id] = r
	case *eventspb.SessionUpdated:
		s := e.GetSession()
		r, ok := f.rows[s.GetId()]
		if !ok || r.version >= e.GetVersion() {
			return nil
		}
		at := e.GetUpdatedAt().AsTime()
		r.state, r.version, r.snap, r.raw, r.updatedAt, r.dirty = int32(s.GetState()), e.GetVersion(), s, nil, at, true
		if !r.startedAt.Valid && s.GetState() == gamepb.GameState_STATE_STARTED {
			r.startedAt = pgtype.Timestamptz{Time: at, Valid: true}
		}
		r.eventCount++
		if s.GetState() == gamepb.GameState_STATE_FINISHED && !f.done[r.id] {
			if f.done == nil {
				f.done = map[string]bool{}
			}
			f.done[r.id] = true
			f.matches = append(f.matches, finished{r: *r, userIDs: players(s), endedAt: at, snap: s,
				topic: ev.Env.Topic, lastOffset: ev.Env.Offset})
		}
	case *eventspb.SessionDeleted:
		r, ok := f.rows[e.GetSessionId()]
		if !ok {
			return nil
		}
		if r.version < e.GetVersion() {
			r.state, r.version, r.updatedAt = int32(gamepb.GameState_STATE_DELETED), e.GetVersion(), e.GetDeletedAt().AsTime()
			r.eventCount++
		}
		// As markDeletedSnapshot: the snapshot's state follows, guard or not.
		s := &gamepb.Session{}
		if r.snap != nil {
			s = proto.Clone(r.snap).(*gamepb.Session)
		} else if err := proto.Unmarshal(r.raw, s); err != nil {
			return err
		}
		s.State = gamepb.GameState_STATE_DELETED
		r.snap, r.raw, r.dirty = s, nil, true
	}
	return nil
}

// write sends the new rows, the changed rows and the finished matches in
// one pipelined round trip.
func (f *fold) write(ctx context.Context, tx pgx.Tx) error {
	var ins, upd struct {
		id, game, host        []string
		state                 []int32
		version, first, count []int64
		snap                  [][]byte
		partition             []int32
		created, updated      []time.Time
		started               []pgtype.Timestamptz
	}
	for _, r := range f.rows {
		if !r.isNew && !r.dirty {
			continue
		}
		snap, err := r.snapshot()
		if err != nil {
			return err
		}
		t := &upd
		if r.isNew {
			t = &ins
			t.game, t.host, t.partition, t.first, t.created = append(t.game, r.gameID), append(t.host, r.hostID),
				append(t.partition, r.partition), append(t.first, r.firstOffset), append(t.created, r.createdAt)
		}
		t.id, t.state, t.version, t.snap = append(t.id, r.id), append(t.state, r.state), append(t.version, r.version), append(t.snap, snap)
		t.updated, t.started, t.count = append(t.updated, r.updatedAt), append(t.started, r.startedAt), append(t.count, r.eventCount)
	}
	b := &pgx.Batch{}
	if len(ins.id) > 0 {
		b.Queue(`INSERT INTO sessions (id, game_id, host_id, state, version, snapshot, kafka_partition, first_offset,
			created_at, started_at, updated_at, event_count)
			SELECT id::uuid, game::uuid, host, state, version, snap, part, first, created, started, updated, n
			FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::bytea[], $7::int[], $8::bigint[],
				$9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::bigint[])
				AS u(id, game, host, state, version, snap, part, first, created, started, updated, n)
			ON CONFLICT (id) DO NOTHING`,
			ins.id, ins.game, ins.host, ins.state, ins.version, ins.snap, ins.partition, ins.first,
			ins.created, ins.started, ins.updated, ins.count)
	}
	if len(upd.id) > 0 {
		b.Queue(`UPDATE sessions s SET state = u.state, version = u.version, snapshot = u.snap, updated_at = u.updated,
			started_at = u.started, event_count = u.n
			FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bytea[], $5::timestamptz[], $6::timestamptz[], $7::bigint[])
				AS u(id, state, version, snap, updated, started, n)
			WHERE s.id = u.id::uuid`,
			upd.id, upd.state, upd.version, upd.snap, upd.updated, upd.started, upd.count)
	}
	if len(f.matches) > 0 {
		if err := queueMatches(b, f.matches); err != nil {
			return err
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

func (r *row) snapshot() ([]byte, error) {
	if r.snap == nil {
		return r.raw, nil
	}
	return projection.Snapshot(r.snap)
}

func queueMatches(b *pgx.Batch, ms []finished) error {
	var (
		id, game, users, topic []string
		started                []pgtype.Timestamptz
		ended                  []time.Time
		state, partition       []int32
		snap                   [][]byte
		first, last, count     []int64
	)
	for _, m := range ms {
		s, err := projection.Snapshot(m.snap)
		if err != nil {
			return err
		}
		// user_ids is an array per row: sent as an array literal, as unnest
		// cannot take an array of arrays.
		id, game, users, topic = append(id, m.r.id), append(game, m.r.gameID), append(users, arrayLiteral(m.userIDs)), append(topic, m.topic)
		started, ended, state, partition = append(started, m.r.startedAt), append(ended, m.endedAt), append(state, int32(m.snap.GetState())), append(partition, m.r.partition)
		snap, first, last, count = append(snap, s), append(first, m.r.firstOffset), append(last, m.lastOffset), append(count, m.r.eventCount)
	}
	b.Queue(`INSERT INTO match_history (session_id, game_id, user_ids, started_at, ended_at, final_state, final_snapshot,
		kafka_topic, kafka_partition, first_offset, last_offset, session_event_count)
		SELECT id::uuid, game::uuid, users::text[], started, ended, state, snap,
			topic, part, first, last, n
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::int[], $7::bytea[],
			$8::text[], $9::int[], $10::bigint[], $11::bigint[], $12::bigint[])
			AS u(id, game, users, started, ended, state, snap, topic, part, first, last, n)
		ON CONFLICT (session_id) DO NOTHING`,
		id, game, users, started, ended, state, snap, topic, partition, first, last, count)
	return nil
}

// arrayLiteral writes a text[] literal: every element double-quoted, with
// backslash and double quote escaped, so any string (empty, NULL-like,
// with commas or braces) reads back as itself.
func arrayLiteral(elems []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range e {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
