package session

import (
	"context"
	"github.com/oof-gg/platform/pkg/headers"
	"strconv"

	"google.golang.org/grpc/metadata"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/apperr"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
)

// GRPC serves the session commands of GameService.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	h *Handler
}

// NewGRPC returns the adapter.
func NewGRPC(h *Handler) *GRPC { return &GRPC{h: h} }

// Mount adds the session commands to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "CreateSession", "UpdateSession", "DeleteSession")
}

func sessionBody(ctx context.Context, s *gamepb.Session, version int64) *gamepb.StandardResponse {
	kit.SetVersion(ctx, version)
	return respond.Game(func(r *gamepb.StandardResponse) { r.Data = &gamepb.StandardResponse_Session{Session: s} })
}

func (g *GRPC) CreateSession(ctx context.Context, req *gamepb.SessionCreate) (*gamepb.StandardResponse, error) {
	s, v, err := g.h.Create(ctx, req)
	if err != nil {
		return nil, respond.GameError(err)
	}
	return sessionBody(ctx, s, v), nil
}

func (g *GRPC) UpdateSession(ctx context.Context, req *gamepb.SessionUpdate) (*gamepb.StandardResponse, error) {
	opts, err := updateOptions(ctx)
	if err != nil {
		return nil, respond.GameError(err)
	}
	s, v, err := g.h.Update(ctx, req, opts)
	if err != nil {
		return nil, respond.GameError(err)
	}
	return sessionBody(ctx, s, v), nil
}

func (g *GRPC) DeleteSession(ctx context.Context, req *gamepb.SessionDelete) (*gamepb.StandardResponse, error) {
	if err := g.h.Delete(ctx, req); err != nil {
		return nil, respond.GameError(err)
	}
	return respond.Game(func(*gamepb.StandardResponse) {}), nil
}

// SetUserIDsHeader ("true") makes an UpdateSession's user_ids the new player
// list even when it is empty: the contract's repeated field cannot say
// "set to nothing", which the last member needs in order to leave.
const SetUserIDsHeader = headers.SetUserIDs

// updateOptions reads the request metadata at the edge, so the handler's
// decision takes it as an argument.
func updateOptions(ctx context.Context) (UpdateOptions, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(SetUserIDsHeader)
	if len(v) == 0 {
		return UpdateOptions{}, nil
	}
	set, err := strconv.ParseBool(v[0])
	if err != nil {
		return UpdateOptions{}, apperr.Invalid(SetUserIDsHeader, "must be true or false")
	}
	return UpdateOptions{SetUserIDs: set}, nil
}
