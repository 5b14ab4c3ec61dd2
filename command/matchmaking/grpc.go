package matchmaking

import (
	"context"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/command/session"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
)

// GRPC serves GameService.JoinLeave: with a session_id it is the session
// command (join or leave that session), without one the queue.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	sessions *session.Handler
	queue    *Queue
}

// NewGRPC returns the adapter.
func NewGRPC(sessions *session.Handler, queue *Queue) *GRPC {
	return &GRPC{sessions: sessions, queue: queue}
}

// Mount adds JoinLeave to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "JoinLeave")
}

// JoinLeave reads the caller and the expected version here, at the edge;
// the handlers take them as arguments.
func (g *GRPC) JoinLeave(ctx context.Context, req *gamepb.JoinLeaveGame) (*gamepb.StandardResponse, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, respond.GameError(err)
	}
	if req.SessionId != nil {
		expected, err := kit.ExpectedVersion(ctx)
		if err != nil {
			return nil, respond.GameError(err)
		}
		s, v, err := g.sessions.JoinLeave(ctx, caller, req, expected)
		if err != nil {
			return nil, respond.GameError(err)
		}
		kit.SetVersion(ctx, v)
		return body(s), nil
	}
	s, err := g.queue.JoinLeave(ctx, caller, req)
	if err != nil {
		return nil, respond.GameError(err)
	}
	return body(s), nil
}

func body(s *gamepb.Session) *gamepb.StandardResponse {
	return respond.Game(func(r *gamepb.StandardResponse) { r.Data = &gamepb.StandardResponse_Session{Session: s} })
}
