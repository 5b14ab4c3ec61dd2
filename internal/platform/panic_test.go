package platform

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/config"
	"github.com/oof-gg/platform/pkg/grpcx"
	"github.com/oof-gg/platform/pkg/middleware"
)

type panickingGames struct {
	commonpb.UnimplementedGameServiceServer
}

func (panickingGames) GetGame(context.Context, *gamepb.GameGetRequest) (*gamepb.PaginatedResponse, error) {
	panic("boom")
}

// A handler's panic answers INTERNAL and is counted in the RPC metrics:
// recovery runs inside the metrics and access log, not outside them.
func TestPanicsAreRecoveredAndCounted(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	sec, err := newSecurity(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Platform{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		registry: prometheus.NewRegistry(), services: grpcx.NewServices()}
	p.services.Add(&commonpb.GameService_ServiceDesc, panickingGames{}, "GetGame")
	srv := p.newServer(sec, append(middleware.PublicMethods(), p.services.FullMethods()...))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	_, err = commonpb.NewGameServiceClient(conn).GetGame(context.Background(), &gamepb.GameGetRequest{})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panicking handler answered %v, want INTERNAL", err)
	}
	n, err := testutil.GatherAndCount(p.registry, "grpc_server_handled_total")
	if err != nil || n == 0 {
		t.Fatalf("no handled counter (%d series, %v)", n, err)
	}
	want := `
# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="Internal",grpc_method="GetGame",grpc_service="v1.api.common.GameService",grpc_type="unary"} 1
`
	if err := testutil.GatherAndCompare(p.registry, strings.NewReader(want), "grpc_server_handled_total"); err != nil {
		t.Fatal(err)
	}
}
