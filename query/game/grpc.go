package game

import (
	"context"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
	"github.com/oof-gg/platform/pkg/validate"
)

// GRPC serves GetGame and TrendingGame.
type GRPC struct {
	commonpb.UnimplementedGameServiceServer
	r *Reader
}

// NewGRPC returns the adapter.
func NewGRPC(r *Reader) *GRPC { return &GRPC{r: r} }

// Mount adds the game reads to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.GameService_ServiceDesc, g, "GetGame", "TrendingGame")
}

func (g *GRPC) GetGame(ctx context.Context, req *gamepb.GameGetRequest) (*gamepb.PaginatedResponse, error) {
	if _, err := authz.Caller(ctx); err != nil {
		return nil, respond.GamePageError(err)
	}
	if req.Id != nil {
		var c validate.Checks
		c.ID("id", req.GetId())
		if err := c.Err(); err != nil {
			return nil, respond.GamePageError(err)
		}
		game, err := g.r.Get(ctx, req.GetId())
		if err != nil {
			return nil, respond.GamePageError(err)
		}
		return respond.GamePage(func(r *gamepb.PaginatedResponse) { r.Data = &gamepb.PaginatedResponse_Game{Game: game} }), nil
	}
	page, err := g.r.List(ctx, req.Limit, req.Cursor)
	if err != nil {
		return nil, respond.GamePageError(err)
	}
	return pageBody(page), nil
}

func (g *GRPC) TrendingGame(ctx context.Context, req *gamepb.TrendingGamesRequest) (*gamepb.PaginatedResponse, error) {
	if _, err := authz.Caller(ctx); err != nil {
		return nil, respond.GamePageError(err)
	}
	page, err := g.r.Trending(ctx, req.Limit, req.Cursor)
	if err != nil {
		return nil, respond.GamePageError(err)
	}
	return pageBody(page), nil
}

func pageBody(p Page) *gamepb.PaginatedResponse {
	return respond.GamePage(func(r *gamepb.PaginatedResponse) {
		size := int32(p.Size)
		r.Pagination = &gamepb.PaginationMetadata{PageSize: &size}
		if p.Next != "" {
			r.Pagination.NextPageToken = &p.Next
		}
		r.Data = &gamepb.PaginatedResponse_Games{Games: &gamepb.Games{Games: p.Games}}
	})
}
