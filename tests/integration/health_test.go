package integration

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/tests/harness"
)

// unreachableKafka is a loopback port nothing listens on.
var unreachableKafka = []string{"127.0.0.1:1"}

// A target connects only what it uses: the query target never opens a
// Kafka client, so it starts and serves with Kafka unreachable, while the
// projector, which consumes Kafka, refuses to start with a clear error.
func TestTargetsStartWithoutWhatTheyDoNotUse(t *testing.T) {
	ctx := testCtx(t)
	cfg := env.Cfg
	cfg.KafkaBrokers = unreachableKafka
	cfg.ProjectorGroupPrefix = "nokafka" + harness.RandomID(3) + "."

	_, err := env.RunPlatform(ctx, cfg, routing.TargetProjector)
	if err == nil || !strings.Contains(err.Error(), "kafka") || !strings.Contains(err.Error(), "-target=projector") {
		t.Fatalf("projector without Kafka: err %v, want a start error naming the target and kafka", err)
	}

	run, err := env.RunPlatform(ctx, cfg, routing.TargetQuery)
	if err != nil {
		t.Fatalf("query target with Kafka unreachable did not start: %v", err)
	}
	conn := dialPlatform(t, run.GRPCAddr)
	waitForHealth(t, conn, "", healthpb.HealthCheckResponse_SERVING)
	if code, body := readyz(t, run.AdminAddr); code != http.StatusOK {
		t.Fatalf("/readyz of the query target = %d %q, want 200: Kafka is none of its business", code, body)
	}

	// Written through the main platform, read through the Kafka-less one.
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	got, err := commonpb.NewGameServiceClient(conn).GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: ptr(g.GetId())})
	if err != nil || !proto.Equal(got.GetGame(), g) {
		t.Fatalf("GetGame on the query target: %v, %v; want %v", got.GetGame(), err, g)
	}
	v, err := authpb.NewAuthServiceClient(conn).ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: dev.token})
	if err != nil || !v.GetIsValid() || v.GetUserId() != dev.id || v.GetRole() != "developer" {
		t.Fatalf("ValidateToken on the query target: %v, %v", v, err)
	}
}

// The command target starts without Kafka and keeps accepting commands:
// their events wait in the outbox, and the answer says the read models are
// not there yet (x-oof-consistency: pending) instead of pretending. It runs
// on a database of its own, so no relay that reaches Kafka drains it.
func TestCommandTargetAcceptsCommandsWithoutKafka(t *testing.T) {
	ctx := testCtx(t)
	cfg := env.Cfg
	cfg.KafkaBrokers = unreachableKafka
	var pool *pgxpool.Pool
	cfg.PostgresURL, pool = migratedDatabase(t, ctx, "nokafka")
	run, err := env.RunPlatform(ctx, cfg, routing.TargetCommand)
	if err != nil {
		t.Fatalf("command target with Kafka unreachable did not start: %v", err)
	}
	conn := dialPlatform(t, run.GRPCAddr)
	waitForHealth(t, conn, "", healthpb.HealthCheckResponse_SERVING)

	name := uniqueName("off")
	var md metadata.MD
	reg, err := authpb.NewAuthServiceClient(conn).Register(asNewClient(ctx),
		&authpb.RegisterRequest{Username: name, Email: name + "@example.com", Password: "password123"}, grpc.Header(&md))
	if err != nil {
		t.Fatalf("Register with Kafka down: %v", err)
	}
	if got := first(md.Get("x-oof-consistency")); got != "pending" {
		t.Fatalf("Register: x-oof-consistency = %q, want pending", got)
	}
	md = nil
	_, err = commonpb.NewPlayerServiceClient(conn).CreatePlayer(withBearer(ctx, reg.GetAccessToken()),
		&playerpb.Player{Type: playerpb.PlayerType_HUMAN}, grpc.Header(&md))
	if err != nil {
		t.Fatalf("CreatePlayer with Kafka down: %v", err)
	}
	if got := first(md.Get("x-oof-consistency")); got != "pending" {
		t.Fatalf("CreatePlayer: x-oof-consistency = %q, want pending", got)
	}
	var aggregates, pending int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM command_aggregates WHERE id = $1),
		(SELECT count(*) FROM event_outbox WHERE published_at IS NULL AND key = $1)`, reg.GetUserId()).Scan(&aggregates, &pending); err != nil {
		t.Fatal(err)
	}
	// UserRegistered and PlayerCreated wait in the outbox with the player.
	if aggregates != 1 || pending != 2 {
		t.Fatalf("write model %d rows, outbox %d pending events; want 1 and 2", aggregates, pending)
	}
}

// The gRPC health status (what Envoy routes by) follows the dependencies at
// runtime, for the whole server and each service, and /readyz agrees.
func TestHealthFollowsAnOutage(t *testing.T) {
	ctx := testCtx(t)
	redisProxy, err := harness.NewProxy(env.Cfg.RedisAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer redisProxy.Close()
	cfg := env.Cfg
	cfg.RedisAddr = redisProxy.Addr()
	run, err := env.RunPlatform(ctx, cfg, routing.TargetQuery)
	if err != nil {
		t.Fatal(err)
	}
	conn := dialPlatform(t, run.GRPCAddr)
	services := []string{"", "v1.api.auth.AuthService", "v1.api.common.GameService"}

	phases := []struct {
		name       string
		change     func()
		want       healthpb.HealthCheckResponse_ServingStatus
		wantReadyz int
		wantBody   string
	}{
		{"up", func() {}, healthpb.HealthCheckResponse_SERVING, http.StatusOK, "ready"},
		{"redis cut", redisProxy.Cut, healthpb.HealthCheckResponse_NOT_SERVING, http.StatusServiceUnavailable, "redis"},
		{"redis back", redisProxy.Restore, healthpb.HealthCheckResponse_SERVING, http.StatusOK, "ready"},
	}
	for _, ph := range phases {
		ph.change()
		for _, svc := range services {
			waitForHealth(t, conn, svc, ph.want)
		}
		code, body := readyz(t, run.AdminAddr)
		if code != ph.wantReadyz || !strings.Contains(body, ph.wantBody) {
			t.Fatalf("%s: gRPC health says %v but /readyz = %d %q", ph.name, ph.want, code, body)
		}
	}
}

func dialPlatform(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// waitForHealth polls grpc.health.v1.Health/Check of service until it
// answers want (the status is refreshed once a second).
func waitForHealth(t *testing.T, conn *grpc.ClientConn, service string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	client := healthpb.NewHealthClient(conn)
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		cancel()
		if err == nil && resp.GetStatus() == want {
			return
		}
		last = resp.GetStatus().String()
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("health of %q is %s, want %v", service, last, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readyz(t *testing.T, adminAddr string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + adminAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
