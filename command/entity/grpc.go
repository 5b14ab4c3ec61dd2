package entity

import (
	"context"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
)

// GRPC serves the entity commands of GameService. Entities travel in the
// responses' added `entity` oneof member (StandardResponse field 8), since
// the contract's oneof has none.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	h *Handler
}

// NewGRPC returns the adapter.
func NewGRPC(h *Handler) *GRPC { return &GRPC{h: h} }

// Mount adds the entity commands to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "CreateEntity", "UpdateEntity", "DeleteEntity")
}

func entityBody(ctx context.Context, e *gamepb.Entity, version int64) *gamepb.StandardResponse {
	kit.SetVersion(ctx, version)
	return respond.Game(func(r *gamepb.StandardResponse) { r.Data = &gamepb.StandardResponse_Entity{Entity: e} })
}

func (g *GRPC) CreateEntity(ctx context.Context, req *gamepb.EntityCreateRequest) (*gamepb.StandardResponse, error) {
	e, v, err := g.h.Create(ctx, req)
	if err != nil {
		return nil, respond.GameError(err)
	}
	return entityBody(ctx, e, v), nil
}

func (g *GRPC) UpdateEntity(ctx context.Context, req *gamepb.EntityUpdateRequest) (*gamepb.StandardResponse, error) {
	e, v, err := g.h.Update(ctx, req)
	if err != nil {
		return nil, respond.GameError(err)
	}
	return entityBody(ctx, e, v), nil
}

func (g *GRPC) DeleteEntity(ctx context.Context, req *gamepb.EntityDeleteRequest) (*gamepb.StandardResponse, error) {
	v, err := g.h.Delete(ctx, req)
	if err != nil {
		return nil, respond.GameError(err)
	}
	kit.SetVersion(ctx, v)
	return respond.Game(func(*gamepb.StandardResponse) {}), nil
}
