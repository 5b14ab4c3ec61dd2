package player

import (
	"context"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
)

// GRPC serves CreatePlayer and UpdatePlayer of PlayerService.
type GRPC struct {
	commonpb.UnimplementedPlayerServiceServer
	h *Handler
}

// NewGRPC returns the adapter.
func NewGRPC(h *Handler) *GRPC { return &GRPC{h: h} }

// Mount adds the player commands to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.PlayerService_ServiceDesc, g, "CreatePlayer", "UpdatePlayer")
}

func (g *GRPC) CreatePlayer(ctx context.Context, req *playerpb.Player) (*playerpb.StandardResponse, error) {
	p, v, err := g.h.Create(ctx, req)
	if err != nil {
		return nil, respond.PlayerError(err)
	}
	return body(ctx, p, v), nil
}

func (g *GRPC) UpdatePlayer(ctx context.Context, req *playerpb.PlayerUpdate) (*playerpb.StandardResponse, error) {
	p, v, err := g.h.Update(ctx, req)
	if err != nil {
		return nil, respond.PlayerError(err)
	}
	return body(ctx, p, v), nil
}

func body(ctx context.Context, p *playerpb.Player, version int64) *playerpb.StandardResponse {
	kit.SetVersion(ctx, version)
	return respond.Player(func(r *playerpb.StandardResponse) {
		r.Data = &playerpb.StandardResponse_SinglePlayer{SinglePlayer: p}
	})
}
