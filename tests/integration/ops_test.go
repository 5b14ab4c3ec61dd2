package integration

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
)

func opsClient() opspb.OpsServiceClient { return opspb.NewOpsServiceClient(env.Conn) }

// Every operator method answers PERMISSION_DENIED to signed-in callers who
// are not admins (UNAUTHENTICATED without a token) and changes nothing.
func TestOpsAdminOnly(t *testing.T) {
	ctx := testCtx(t)
	victim := signedIn(t, ctx, "player")
	name := uniqueName("opsdeny")
	calls := map[string]func(context.Context) error{
		"CreateUser": func(c context.Context) error {
			_, err := opsClient().CreateUser(c, &opspb.CreateUserRequest{Username: name, Password: "correct horse battery"})
			return err
		},
		"GrantRole": func(c context.Context) error {
			_, err := opsClient().GrantRole(c, &opspb.GrantRoleRequest{User: victim.id, Role: "admin"})
			return err
		},
		"GetStatus": func(c context.Context) error {
			_, err := opsClient().GetStatus(c, &opspb.GetStatusRequest{})
			return err
		},
	}
	for _, role := range []string{"player", "developer", "service"} {
		caller := signedIn(t, ctx, role)
		for method, call := range calls {
			t.Run(role+"/"+method, func(t *testing.T) {
				wantCode(t, call(caller.in(ctx)), codes.PermissionDenied)
			})
		}
	}
	for method, call := range calls {
		t.Run("anonymous/"+method, func(t *testing.T) {
			wantCode(t, call(asNewClient(ctx)), codes.Unauthenticated)
		})
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts WHERE username = $1`, name); n != 0 {
		t.Fatal("a refused CreateUser created the account")
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM auth_accounts WHERE user_id = $1 AND role = 'player'`, victim.id); n != 1 {
		t.Fatal("a refused GrantRole changed the role")
	}
}

// An admin creates an account and grants it a role over the operator API;
// the role is in the account's tokens from the next refresh on.
func TestOpsCreateUserAndGrantRole(t *testing.T) {
	ctx := testCtx(t)
	admin := signedIn(t, ctx, "admin")
	name := uniqueName("opsnew")
	created, err := opsClient().CreateUser(admin.in(ctx), &opspb.CreateUserRequest{Username: name, Password: "correct horse battery"})
	if err != nil || created.GetRole() != "player" || created.GetUserId() == "" {
		t.Fatalf("create user: %+v, %v", created, err)
	}
	_, err = opsClient().CreateUser(admin.in(ctx), &opspb.CreateUserRequest{Username: name, Password: "correct horse battery"})
	wantCode(t, err, codes.AlreadyExists)
	_, err = opsClient().CreateUser(admin.in(ctx), &opspb.CreateUserRequest{Username: "x", Password: "short", Role: "root"})
	wantCode(t, err, codes.InvalidArgument)

	login, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: name, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	granted, err := opsClient().GrantRole(admin.in(ctx), &opspb.GrantRoleRequest{User: name, Role: "developer"})
	if err != nil || !granted.GetChanged() || granted.GetPreviousRole() != "player" || granted.GetUserId() != created.GetUserId() {
		t.Fatalf("grant role: %+v, %v", granted, err)
	}
	again, err := opsClient().GrantRole(admin.in(ctx), &opspb.GrantRoleRequest{User: created.GetUserId(), Role: "developer"})
	if err != nil || again.GetChanged() {
		t.Fatalf("granting the same role again must change nothing: %+v, %v", again, err)
	}
	_, err = opsClient().GrantRole(admin.in(ctx), &opspb.GrantRoleRequest{User: name, Role: "root"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = opsClient().GrantRole(admin.in(ctx), &opspb.GrantRoleRequest{User: uniqueName("nobody"), Role: "admin"})
	wantCode(t, err, codes.NotFound)

	assertRoleAfterRefresh(t, ctx, login, "player", "developer")
}

// assertRoleAfterRefresh: the access token issued before the change keeps
// its role; the one from the next refresh carries the new role.
func assertRoleAfterRefresh(t *testing.T, ctx context.Context, login *authpb.LoginResponse, before, after string) {
	t.Helper()
	old, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: login.GetAccessToken()})
	if err != nil || old.GetRole() != before {
		t.Fatalf("token from before the change: %+v, %v", old, err)
	}
	refreshed, err := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: login.GetRefreshToken()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: refreshed.GetAccessToken()})
	if err != nil || v.GetRole() != after {
		t.Fatalf("token after refresh: %+v, %v", v, err)
	}
}

// The operator API is listed by server reflection, like the contract.
func TestOpsReflection(t *testing.T) {
	ctx := testCtx(t)
	stream, err := rpb.NewServerReflectionClient(env.Conn).ServerReflectionInfo(ctx, grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range resp.GetListServicesResponse().GetService() {
		if s.GetName() == "oof.ops.v1.OpsService" {
			return
		}
	}
	t.Fatalf("reflection lists no oof.ops.v1.OpsService: %v", resp.GetListServicesResponse())
}

// GetStatus lists every projector with its partitions and the relay.
func TestOpsStatus(t *testing.T) {
	ctx := testCtx(t)
	admin := signedIn(t, ctx, "admin")
	st, err := opsClient().GetStatus(admin.in(ctx), &opspb.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetKafkaError() != "" || st.GetRelay() == nil {
		t.Fatalf("status: %+v", st)
	}
	projectors := map[string]bool{}
	for _, l := range st.GetLag() {
		projectors[l.GetProjector()] = true
		if l.GetEndOffset() < 0 || l.GetLag() < 0 || l.GetLag() != max(l.GetEndOffset()-l.GetStoredOffset(), 0) {
			t.Fatalf("lag row: %+v", l)
		}
	}
	for _, d := range st.GetDeadLetters() {
		if !projectors[d.GetProjector()] {
			t.Fatalf("dead letters of %s, which has no lag rows", d.GetProjector())
		}
	}
	for _, want := range []string{"users", "games", "sessions", "players", "live"} {
		if !projectors[want] {
			t.Errorf("no lag rows for projector %s (have %v)", want, projectors)
		}
	}
}
