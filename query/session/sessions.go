// Package session serves GetSession: one session by id, or the live
// sessions of a game.
package session

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
	"github.com/oof-gg/platform/pkg/validate"
	"github.com/oof-gg/platform/query/kit"
)

// maxLiveSessions bounds one "all live sessions of a game" answer; games
// cap their sessions far lower (max_sessions).
const maxLiveSessions = 1000

// Reader reads the sessions read model.
type Reader struct{ Pool *pgxpool.Pool }

// Get returns one session.
func (r *Reader) Get(ctx context.Context, id string) (*gamepb.Session, error) {
	var snap []byte
	err := r.Pool.QueryRow(ctx, `SELECT snapshot FROM sessions WHERE id = $1::uuid`, id).Scan(&snap)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("session not found")
	}
	if err != nil {
		return nil, apperr.Unavailable("sessions unavailable", err)
	}
	return decode(snap)
}

// Live returns a game's sessions that are neither finished nor deleted.
func (r *Reader) Live(ctx context.Context, gameID string) ([]*gamepb.Session, error) {
	rows, err := r.Pool.Query(ctx, `SELECT snapshot FROM sessions WHERE game_id = $1::uuid AND state NOT IN (3, 4)
		ORDER BY id LIMIT $2`, gameID, maxLiveSessions)
	if err != nil {
		return nil, apperr.Unavailable("sessions unavailable", err)
	}
	snaps, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, apperr.Unavailable("sessions unavailable", err)
	}
	out := make([]*gamepb.Session, 0, len(snaps))
	for _, s := range snaps {
		sess, err := decode(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, nil
}

func decode(snap []byte) (*gamepb.Session, error) {
	return kit.Decode(snap, func() *gamepb.Session { return &gamepb.Session{} })
}

// GRPC serves GetSession.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	r *Reader
}

// NewGRPC returns the adapter.
func NewGRPC(r *Reader) *GRPC { return &GRPC{r: r} }

// Mount adds GetSession to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "GetSession")
}

func (g *GRPC) GetSession(ctx context.Context, req *gamepb.SessionGet) (*gamepb.StandardResponse, error) {
	if _, err := authz.Caller(ctx); err != nil {
		return nil, respond.GameError(err)
	}
	var c validate.Checks
	switch {
	case req.GetId() != "":
		c.ID("id", req.GetId())
	case req.GetGameId() != "":
		c.ID("game_id", req.GetGameId())
	default:
		c.Add("id", "give a session id, or a game_id to list its live sessions")
	}
	if err := c.Err(); err != nil {
		return nil, respond.GameError(err)
	}
	if req.GetId() != "" {
		s, err := g.r.Get(ctx, req.GetId())
		if err == nil && req.GetGameId() != "" && s.GetGameId() != req.GetGameId() {
			err = apperr.NotFound("session not found in this game")
		}
		if err != nil {
			return nil, respond.GameError(err)
		}
		return respond.Game(func(r *gamepb.StandardResponse) { r.Data = &gamepb.StandardResponse_Session{Session: s} }), nil
	}
	list, err := g.r.Live(ctx, req.GetGameId())
	if err != nil {
		return nil, respond.GameError(err)
	}
	return respond.Game(func(r *gamepb.StandardResponse) {
		r.Data = &gamepb.StandardResponse_Sessions{Sessions: &gamepb.Sessions{Sessions: list}}
	}), nil
}
