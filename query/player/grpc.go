package player

import (
	"context"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
	"github.com/oof-gg/platform/pkg/validate"
)

// GRPC serves GetPlayer.
type GRPC struct {
	commonpb.UnimplementedPlayerServiceServer
	r *Reader
}

// NewGRPC returns the adapter.
func NewGRPC(r *Reader) *GRPC { return &GRPC{r: r} }

// Mount adds the player read to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.PlayerService_ServiceDesc, g, "GetPlayer")
}

// GetPlayer returns one player; without an id, the caller's own (a human
// player's id is its user's id).
func (g *GRPC) GetPlayer(ctx context.Context, req *playerpb.PlayerGet) (*playerpb.StandardResponse, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, respond.PlayerError(err)
	}
	id := req.GetId()
	if id == "" {
		id = caller.UserID
	} else {
		var c validate.Checks
		c.ID("id", id)
		if err := c.Err(); err != nil {
			return nil, respond.PlayerError(err)
		}
	}
	p, err := g.r.Get(ctx, caller, id)
	if err != nil {
		return nil, respond.PlayerError(err)
	}
	return respond.Player(func(r *playerpb.StandardResponse) {
		r.Data = &playerpb.StandardResponse_SinglePlayer{SinglePlayer: p}
	}), nil
}
