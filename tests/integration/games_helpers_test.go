package integration

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// actor is a signed-in user with a role.
type actor struct {
	account
	id, token string
}

// signInAs registers a user, gives it role (there is no public API to grant
// developer/admin/service; operators set it in the auth write model), and
// signs in again so the access token carries the role.
func signInAs(t *testing.T, ctx context.Context, role string) actor {
	t.Helper()
	a := register(t, ctx, role[:3])
	if role != "player" {
		if _, err := env.Pool.Exec(ctx, `UPDATE auth_accounts SET role = $2 WHERE user_id = $1`, a.resp.GetUserId(), role); err != nil {
			t.Fatal(err)
		}
	}
	login, err := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: a.username, Password: a.password})
	if err != nil {
		t.Fatalf("sign in as %s: %v", role, err)
	}
	return actor{account: a, id: a.resp.GetUserId(), token: login.GetAccessToken()}
}

func (a actor) ctx(ctx context.Context) context.Context { return withBearer(ctx, a.token) }

func games() commonpb.GameServiceClient { return commonpb.NewGameServiceClient(env.Conn) }

// newGame creates a game owned by dev.
func newGame(t *testing.T, ctx context.Context, dev actor, req *gamepb.GameCreateRequest) *gamepb.Game {
	t.Helper()
	if req.GetName() == "" {
		req.Name = "Game " + uniqueName("g")
	}
	resp, err := games().CreateGame(dev.ctx(ctx), req)
	if err != nil {
		t.Fatalf("create game: %v", err)
	}
	return resp.GetSingleGame()
}

// newSession creates a session as a with the given players.
func newSession(t *testing.T, ctx context.Context, a actor, gameID string, users ...string) (*gamepb.Session, string) {
	t.Helper()
	var md metadata.MD
	resp, err := games().CreateSession(a.ctx(ctx), &gamepb.SessionCreate{GameId: gameID, UserIds: users}, grpc.Header(&md))
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	return resp.GetSession(), first(md.Get("x-oof-version"))
}

func getSession(t *testing.T, ctx context.Context, a actor, id string) *gamepb.Session {
	t.Helper()
	resp, err := games().GetSession(a.ctx(ctx), &gamepb.SessionGet{Id: &id})
	if err != nil {
		t.Fatalf("get session: %v", err)
	}
	return resp.GetSession()
}

func countAggregates(t *testing.T, ctx context.Context, kind string) int {
	t.Helper()
	return countRows(t, ctx, `SELECT count(*) FROM command_aggregates WHERE kind = $1`, kind)
}

func ptr[T any](v T) *T { return &v }

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
