package platform

import (
	"google.golang.org/grpc"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
)

// mountWholeContract registers every service of the wire contract, so a
// method that is not built (or lives on another target) still passes through
// authentication and then answers UNIMPLEMENTED, instead of "unknown
// service" before any check.
func (p *Platform) mountWholeContract() {
	for _, s := range []struct {
		desc *grpc.ServiceDesc
		impl any
	}{
		{&authpb.AuthService_ServiceDesc, authpb.UnimplementedAuthServiceServer{}},
		{&commonpb.GameService_ServiceDesc, commonpb.UnimplementedGameServiceServer{}},
		{&commonpb.GlobalService_ServiceDesc, commonpb.UnimplementedGlobalServiceServer{}},
		{&commonpb.InstanceService_ServiceDesc, commonpb.UnimplementedInstanceServiceServer{}},
		{&commonpb.PlayerService_ServiceDesc, commonpb.UnimplementedPlayerServiceServer{}},
		{&commonpb.ScoreService_ServiceDesc, commonpb.UnimplementedScoreServiceServer{}},
		// Not the contract, but likewise: admins only on every target.
		{&opspb.OpsService_ServiceDesc, opspb.UnimplementedOpsServiceServer{}},
	} {
		p.services.Add(s.desc, s.impl)
	}
}
