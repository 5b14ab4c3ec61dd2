package score

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/headers"
	"github.com/oof-gg/platform/pkg/respond"
)

// GRPC serves the reads of ScoreService. The contract answers them in a
// StandardResponse, which has no pagination: the next page's cursor goes
// in the response header x-oof-next-cursor.
type GRPC struct {
	commonpb.UnimplementedScoreServiceServer
	r *Reader
}

// NewGRPC returns the adapter.
func NewGRPC(r *Reader) *GRPC { return &GRPC{r: r} }

// Mount adds the score reads to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&commonpb.ScoreService_ServiceDesc, g, "GetLeaderboard", "GetPlayerRank", "GetPlayerScores")
}

func ok(set func(*scorepb.StandardResponse)) *scorepb.StandardResponse {
	r := &scorepb.StandardResponse{Code: int32(codes.OK), Message: respond.OKMessage}
	set(r)
	return r
}

func setNext(ctx context.Context, next string) {
	if next != "" {
		_ = grpc.SetHeader(ctx, metadata.Pairs(headers.NextCursor, next))
	}
}

func (g *GRPC) GetLeaderboard(ctx context.Context, req *scorepb.LeaderboardRequest) (*scorepb.StandardResponse, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	q := LeaderboardQuery{Req: req}
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get(headers.AroundPlayer)) > 0 {
		q.AroundPlayer = md.Get(headers.AroundPlayer)[0]
	}
	lb, next, kept, err := g.r.page(ctx, caller, q)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	setNext(ctx, next)
	if kept != nil {
		return kept.response(leaderboardResponse), nil
	}
	return leaderboardResponse(lb), nil
}

func leaderboardResponse(lb *scorepb.Leaderboard) *scorepb.StandardResponse {
	return ok(func(r *scorepb.StandardResponse) { r.Data = &scorepb.StandardResponse_Leaderboard{Leaderboard: lb} })
}

func (g *GRPC) GetPlayerRank(ctx context.Context, req *scorepb.PlayerRankRequest) (*scorepb.StandardResponse, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	pr, err := g.r.Rank(ctx, caller, req)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	return ok(func(r *scorepb.StandardResponse) { r.Data = &scorepb.StandardResponse_PlayerRank{PlayerRank: pr} }), nil
}

func (g *GRPC) GetPlayerScores(ctx context.Context, req *scorepb.PlayerScoresRequest) (*scorepb.StandardResponse, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	ps, next, err := g.r.PlayerScores(ctx, caller, req)
	if err != nil {
		return nil, respond.ScoreError(err)
	}
	setNext(ctx, next)
	return ok(func(r *scorepb.StandardResponse) { r.Data = &scorepb.StandardResponse_PlayerScores{PlayerScores: ps} }), nil
}
