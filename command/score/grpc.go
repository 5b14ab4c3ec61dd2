package score

import (
	"context"

	"google.golang.org/grpc/codes"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/respond"
)

// GRPC serves SubmitScore of ScoreService. The stored score travels as the
// answer's leaderboard_entry (rank 0: ranks are read with GetPlayerRank),
// since the contract's oneof has no plain Score.
type GRPC struct {
	commonpb.UnimplementedScoreServiceServer
	h *Handler
}

// NewGRPC returns the adapter.
func NewGRPC(h *Handler) *GRPC { return &GRPC{h: h} }

// Mount adds SubmitScore to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.ScoreService_ServiceDesc, g, "SubmitScore")
}

func (g *GRPC) SubmitScore(ctx context.Context, req *scorepb.ScoreSubmission) (*scorepb.StandardResponse, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	s, err := g.h.Submit(ctx, caller, req)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	return &scorepb.StandardResponse{Code: int32(codes.OK), Message: respond.OKMessage,
		Data: &scorepb.StandardResponse_LeaderboardEntry{LeaderboardEntry: &scorepb.LeaderboardEntry{Score: s}}}, nil
}
