package game

import (
	"context"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
)

// GRPC serves CreateGame and UpdateGame of GameService.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	h *Handler
}

// NewGRPC returns the adapter.
func NewGRPC(h *Handler) *GRPC { return &GRPC{h: h} }

// Mount adds the game commands to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "CreateGame", "UpdateGame")
}

func (g *GRPC) CreateGame(ctx context.Context, req *gamepb.GameCreateRequest) (*gamepb.StandardResponse, error) {
	game, err := g.h.Create(ctx, req)
	if err != nil {
		return nil, respond.GameError(err)
	}
	return respond.Game(func(r *gamepb.StandardResponse) { r.Data = &gamepb.StandardResponse_SingleGame{SingleGame: game} }), nil
}

func (g *GRPC) UpdateGame(ctx context.Context, req *gamepb.GameUpdateRequest) (*gamepb.StandardResponse, error) {
	game, err := g.h.Update(ctx, req)
	if err != nil {
		return nil, respond.GameError(err)
	}
	return respond.Game(func(r *gamepb.StandardResponse) { r.Data = &gamepb.StandardResponse_SingleGame{SingleGame: game} }), nil
}
