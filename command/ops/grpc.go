package ops

import (
	"context"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	commandauth "github.com/oof-gg/platform/command/auth"
	"github.com/oof-gg/platform/pkg/auth"
	"github.com/oof-gg/platform/pkg/authz"
	"github.com/oof-gg/platform/pkg/grpcx"
)

// GRPC serves oof.ops.v1.OpsService. Every method is for admins only.
type GRPC struct {
	opspb.UnimplementedOpsServiceServer
	s *Service
}

// NewGRPC returns the adapter.
func NewGRPC(s *Service) *GRPC { return &GRPC{s: s} }

// Mount adds the whole service to services.
func (g *GRPC) Mount(s *grpcx.Services) {
	s.Add(&opspb.OpsService_ServiceDesc, g, "CreateUser", "GrantRole", "GetStatus", "ListMatches", "GetMatch", "ReplayMatch",
		"ListDeadLetters", "RetryDeadLetters", "EraseUser")
}

// admin returns the calling admin, or PERMISSION_DENIED.
func admin(ctx context.Context) (auth.Principal, error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if !authz.IsAdmin(caller) {
		return auth.Principal{}, authz.Denied("use the operator API (admins only)")
	}
	return caller, nil
}

func (g *GRPC) CreateUser(ctx context.Context, req *opspb.CreateUserRequest) (*opspb.CreateUserResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	acct, err := g.s.CreateUser(ctx, commandauth.CreateAccountInput{
		Username: req.GetUsername(), Email: req.GetEmail(), Password: req.GetPassword(), Role: req.GetRole()})
	if err != nil {
		return nil, err
	}
	return &opspb.CreateUserResponse{UserId: acct.UserID, Username: acct.Username, Role: acct.Role}, nil
}

func (g *GRPC) GrantRole(ctx context.Context, req *opspb.GrantRoleRequest) (*opspb.GrantRoleResponse, error) {
	caller, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	res, err := g.s.GrantRole(ctx, req.GetUser(), req.GetRole(), caller.UserID)
	if err != nil {
		return nil, err
	}
	return &opspb.GrantRoleResponse{UserId: res.UserID, Role: res.Role, PreviousRole: res.PreviousRole, Changed: res.Changed}, nil
}

func (g *GRPC) GetStatus(ctx context.Context, _ *opspb.GetStatusRequest) (*opspb.GetStatusResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	st, err := g.s.Status.Status(ctx)
	if err != nil {
		return nil, err
	}
	return StatusProto(st), nil
}

func (g *GRPC) EraseUser(ctx context.Context, req *opspb.EraseUserRequest) (*opspb.EraseUserResponse, error) {
	caller, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	res, err := g.s.EraseUser(ctx, req.GetUser(), caller.UserID)
	if err != nil {
		return nil, err
	}
	return &opspb.EraseUserResponse{UserId: res.UserID, PersonalKeyIds: res.KeyIDs, PlayerIds: res.PlayerIDs, Changed: res.Changed}, nil
}
