// Package sessions projects oof.session.v1 into the sessions read model and
// writes a match-history record when a session finishes.
package sessions

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/projection"
	"github.com/oof-gg/platform/projector"
)

// Name is the projector's name.
const Name = projector.Sessions

// Projector maintains sessions and match_history.
type Projector struct{ topic string }

// New returns a projector reading the full oof.session.v1 topic name.
func New(sessionTopic string) *Projector { return &Projector{topic: sessionTopic} }

func (p *Projector) Name() string     { return Name }
func (p *Projector) Topics() []string { return []string{p.topic} }

func (p *Projector) Reset(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `TRUNCATE sessions, match_history`)
	return err
}

func (p *Projector) Apply(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, msg proto.Message) error {
	var err error
	switch e := msg.(type) {
	case *eventspb.SessionCreated:
		err = p.created(ctx, tx, env, e)
	case *eventspb.SessionUpdated:
		err = p.updated(ctx, tx, env, e)
	case *eventspb.SessionDeleted:
		_, err = tx.Exec(ctx, `UPDATE sessions SET state = $2, version = $3, updated_at = $4,
			event_count = event_count + 1 WHERE id = $1::uuid AND version < $3`,
			e.GetSessionId(), int32(gamepb.GameState_STATE_DELETED), e.GetVersion(), e.GetDeletedAt().AsTime())
		if err == nil {
			err = p.markDeletedSnapshot(ctx, tx, e.GetSessionId())
		}
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("sessions projector: %w", err)
	}
	return nil
}

func (p *Projector) created(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, e *eventspb.SessionCreated) error {
	s := e.GetSession()
	snap, err := projection.Snapshot(s)
	if err != nil {
		return err
	}
	at := e.GetCreatedAt().AsTime()
	var started any
	if s.GetState() == gamepb.GameState_STATE_STARTED {
		started = at
	}
	_, err = tx.Exec(ctx, `INSERT INTO sessions (id, game_id, host_id, state, version, snapshot, kafka_partition,
		first_offset, created_at, started_at, updated_at)
		VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $9) ON CONFLICT (id) DO NOTHING`,
		s.GetId(), s.GetGameId(), e.GetHostId(), int32(s.GetState()), e.GetVersion(), snap, env.Partition, env.Offset, at, started)
	return err
}

func (p *Projector) updated(ctx context.Context, tx pgx.Tx, env eventlog.Envelope, e *eventspb.SessionUpdated) error {
	s := e.GetSession()
	snap, err := projection.Snapshot(s)
	if err != nil {
		return err
	}
	at := e.GetUpdatedAt().AsTime()
	var started any
	if s.GetState() == gamepb.GameState_STATE_STARTED {
		started = at
	}
	// event_count counts the lifecycle events applied (the version check
	// skips one delivered again), for match_history.session_event_count.
	tag, err := tx.Exec(ctx, `UPDATE sessions SET state = $2, version = $3, snapshot = $4, updated_at = $5,
		started_at = coalesce(started_at, $6), event_count = event_count + 1 WHERE id = $1::uuid AND version < $3`,
		s.GetId(), int32(s.GetState()), e.GetVersion(), snap, at, started)
	if err != nil || tag.RowsAffected() == 0 || s.GetState() != gamepb.GameState_STATE_FINISHED {
		return err
	}
	// The match is over: record it with where its events are on the log, so
	// operators can replay exactly this match.
	_, err = tx.Exec(ctx, `INSERT INTO match_history (session_id, game_id, user_ids, started_at, ended_at,
		final_state, final_snapshot, kafka_topic, kafka_partition, first_offset, last_offset, session_event_count)
		SELECT id, game_id, $2, started_at, $3, $4, $5, $6, kafka_partition, first_offset, $7, event_count
		FROM sessions WHERE id = $1::uuid
		ON CONFLICT (session_id) DO NOTHING`,
		s.GetId(), players(s), at, int32(s.GetState()), snap, env.Topic, env.Offset)
	return err
}

// players is the match's player list for match_history.user_ids (NOT NULL).
// pgx sends a nil slice as NULL, and a session nobody is listed in (the host
// created it without user_ids) has nil: that is an empty array, not a
// missing one. The host is not added: a host need not play (a game owner may
// host others' match), and sessions.host_id names it.
func players(s *gamepb.Session) []string {
	if ids := s.GetUserIds(); ids != nil {
		return ids
	}
	return []string{}
}

// markDeletedSnapshot keeps the stored snapshot's state in step with the
// state column after a delete.
func (p *Projector) markDeletedSnapshot(ctx context.Context, tx pgx.Tx, id string) error {
	var raw []byte
	if err := tx.QueryRow(ctx, `SELECT snapshot FROM sessions WHERE id = $1::uuid`, id).Scan(&raw); err != nil {
		if err == pgx.ErrNoRows {
			return nil
		}
		return err
	}
	s := &gamepb.Session{}
	if err := proto.Unmarshal(raw, s); err != nil {
		return err
	}
	s.State = gamepb.GameState_STATE_DELETED
	snap, err := projection.Snapshot(s)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE sessions SET snapshot = $2 WHERE id = $1::uuid`, id, snap)
	return err
}
