package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	authpb "github.com/oof-gg/platform/api/gen/v1/api/auth"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	pb "github.com/oof-gg/platform/api/gen/v1/api/player"
)

// member is a signed-in user; roles are granted in the auth write model (no API grants them).
type member struct {
	account
	id, token string
}

func (m member) in(ctx context.Context) context.Context { return withBearer(ctx, m.token) }

func signedIn(t *testing.T, ctx context.Context, role string) member {
	t.Helper()
	a := register(t, ctx, "pl")
	_, err1 := env.Pool.Exec(ctx, `UPDATE auth_accounts SET role = $2 WHERE user_id = $1`, a.resp.GetUserId(), role)
	login, err2 := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: a.username, Password: a.password})
	if err1 != nil || err2 != nil {
		t.Fatalf("sign in as %s: %v, %v", role, err1, err2)
	}
	return member{account: a, id: a.resp.GetUserId(), token: login.GetAccessToken()}
}

func players() commonpb.PlayerServiceClient { return commonpb.NewPlayerServiceClient(env.Conn) }

// createPlayer creates p as m and returns it, checking the success body.
func createPlayer(t *testing.T, ctx context.Context, m member, p *pb.Player, opts ...grpc.CallOption) *pb.Player {
	t.Helper()
	resp, err := players().CreatePlayer(m.in(ctx), p, opts...)
	if err != nil || resp.GetCode() != 0 || resp.GetMessage() != "OK" || resp.GetError() != nil {
		t.Fatalf("create player (the body must mirror success): %+v, %v", resp, err)
	}
	return resp.GetSinglePlayer()
}

func getPlayer(t *testing.T, ctx context.Context, m member, id string) *pb.Player {
	t.Helper()
	resp, err := players().GetPlayer(m.in(ctx), &pb.PlayerGet{Id: &id})
	if err != nil {
		t.Fatalf("get player %s: %v", id, err)
	}
	return resp.GetSinglePlayer()
}

// wantPlayerFailure checks the status code and the player body it carries.
func wantPlayerFailure(t *testing.T, err error, code codes.Code) {
	t.Helper()
	st := wantCode(t, err, code)
	for _, d := range st.Details() {
		if b, ok := d.(*pb.StandardResponse); ok && b.GetCode() == int32(code) && b.GetError().GetCode() == int32(code) &&
			b.GetMessage() == st.Message() && (code != codes.InvalidArgument || len(b.GetError().GetDetails()) > 0) {
			return
		}
	}
	t.Fatalf("status %v carries no player body with code %d: %v", code, code, st.Details())
}

// playerWorld fingerprints every player write, read model and account role,
// to show a refused request changed nothing.
func playerWorld(t *testing.T, ctx context.Context) string {
	t.Helper()
	var s string
	if err := env.Pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(string_agg(id || ':' || version || ':' || md5(state), ',' ORDER BY id), '') FROM command_aggregates WHERE kind = 'player') || '|' ||
		(SELECT coalesce(string_agg(id || ':' || version, ',' ORDER BY id), '') FROM players) || '|' ||
		(SELECT string_agg(user_id::text || ':' || role, ',' ORDER BY user_id) FROM auth_accounts)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPlayerHumanCreateGetUpdate(t *testing.T) {
	ctx := testCtx(t)
	u := signedIn(t, ctx, "player")
	_, err := players().GetPlayer(u.in(ctx), &pb.PlayerGet{})
	wantPlayerFailure(t, err, codes.NotFound)
	var md metadata.MD
	p := createPlayer(t, ctx, u, &pb.Player{Username: "Hero_1", Email: proto.String(u.username + "@example.com"),
		Team: proto.String("red")}, grpc.Header(&md))
	if p.GetId() != u.id || p.GetRole() != "player" || p.GetUsername() != "Hero_1" || fmt.Sprint(md.Get("x-oof-version")) != "[1]" {
		t.Fatalf("created %+v (version %v)", p, md.Get("x-oof-version"))
	}
	own, err := players().GetPlayer(u.in(ctx), &pb.PlayerGet{}) // read-your-writes, no id = own
	if err != nil || !proto.Equal(own.GetSinglePlayer(), p) || !proto.Equal(getPlayer(t, ctx, u, u.id), p) {
		t.Fatalf("get after create: %+v, %v", own, err)
	}
	up, err := players().UpdatePlayer(u.in(ctx), &pb.PlayerUpdate{Id: u.id, Team: proto.String("blue"),
		Status: pb.PlayerStatus_INACTIVE.Enum(), Role: proto.String("player")}, grpc.Header(&md))
	if err != nil || fmt.Sprint(md.Get("x-oof-version")) != "[2]" {
		t.Fatalf("update: %v (version %v)", err, md.Get("x-oof-version"))
	}
	want := proto.Clone(p).(*pb.Player)
	want.Team, want.Status = proto.String("blue"), pb.PlayerStatus_INACTIVE
	if !proto.Equal(up.GetSinglePlayer(), want) || !proto.Equal(getPlayer(t, ctx, u, u.id), want) {
		t.Fatalf("after update: %+v, want %+v", up.GetSinglePlayer(), want)
	}
	_, err = players().CreatePlayer(u.in(ctx), &pb.Player{Username: "Hero_2"})
	wantPlayerFailure(t, err, codes.AlreadyExists)
	v := signedIn(t, ctx, "player") // username defaults to the account's
	if got := createPlayer(t, ctx, v, &pb.Player{Id: v.id}); got.GetUsername() != v.username || got.GetEmail() != "" {
		t.Fatalf("defaulted player: %+v", got)
	}
}

func TestPlayerAIByDeveloper(t *testing.T) {
	ctx := testCtx(t)
	dev, admin := signedIn(t, ctx, "developer"), signedIn(t, ctx, "admin")
	bot := createPlayer(t, ctx, dev, &pb.Player{Username: "bot.one", Type: pb.PlayerType_AI, Team: proto.String("red")})
	if id, err := uuid.Parse(bot.GetId()); err != nil || id.Version() != 7 || bot.GetRole() != "player" ||
		countRows(t, ctx, `SELECT count(*) FROM players WHERE id = $1 AND owner_id = $2 AND type = 1`, bot.GetId(), dev.id) != 1 {
		t.Fatalf("AI player %+v (with a generated UUIDv7 id, in the read model with its owner)", bot)
	}
	for _, m := range []member{dev, admin} {
		if _, err := players().UpdatePlayer(m.in(ctx), &pb.PlayerUpdate{Id: bot.GetId(), Team: proto.String(m.username)}); err != nil {
			t.Fatalf("update AI as owner/admin: %v", err)
		}
		if got := getPlayer(t, ctx, dev, bot.GetId()); got.GetTeam() != m.username {
			t.Fatalf("team %q, want %q", got.GetTeam(), m.username)
		}
	}
}

func TestPlayerAdminChangesRole(t *testing.T) {
	ctx := testCtx(t)
	admin := signedIn(t, ctx, "admin")
	u := signedIn(t, ctx, "player")
	createPlayer(t, ctx, u, &pb.Player{})
	resp, err := players().UpdatePlayer(admin.in(ctx), &pb.PlayerUpdate{Id: u.id, Role: proto.String("developer")})
	if err != nil || resp.GetSinglePlayer().GetRole() != "developer" {
		t.Fatalf("role change: %+v, %v", resp, err)
	}
	// Only UserRoleChanged (on oof.user.v1) sets the role in the users read model.
	if n := countRows(t, ctx, `SELECT count(*) FROM users WHERE id = $1 AND role = 'developer'`, u.id); n != 1 {
		t.Fatal("users read model does not show the new role")
	}
	login, err1 := authClient().Login(asNewClient(ctx), &authpb.LoginRequest{Username: u.username, Password: u.password})
	refreshed, err2 := authClient().RefreshToken(ctx, &authpb.RefreshTokenRequest{RefreshToken: u.resp.GetRefreshToken()})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for _, tok := range []string{login.GetAccessToken(), refreshed.GetAccessToken()} {
		v, err := authClient().ValidateToken(ctx, &authpb.ValidateTokenRequest{AccessToken: tok})
		if err != nil || v.GetRole() != "developer" || v.GetUserId() != u.id {
			t.Fatalf("token after role change: %+v, %v", v, err)
		}
	}
	var e eventspb.PlayerUpdated // the last one of u
	for _, m := range readTopic(t, env.Topic("oof.player.v1")) {
		if string(m.Key) == u.id && header(m, "ce_type") == "oof.events.v1.PlayerUpdated" && proto.Unmarshal(m.Value, &e) != nil {
			t.Fatal("undecodable PlayerUpdated")
		}
	}
	if e.GetPreviousRole() != "player" || e.GetPlayer().GetRole() != "developer" || e.GetUpdatedBy() != admin.id || e.GetVersion() != 2 {
		t.Fatalf("PlayerUpdated of the role change: %+v", &e)
	}
}

// playerCall is one request that must be refused.
type playerCall struct {
	name string
	as   member
	req  proto.Message // *pb.Player (create) or *pb.PlayerUpdate
}

// refuseAll sends every call, wants code and its body for each, and wants
// nothing changed by any of them.
func refuseAll(t *testing.T, ctx context.Context, code codes.Code, calls []playerCall) {
	t.Helper()
	before := playerWorld(t, ctx)
	for _, r := range calls {
		t.Run(r.name, func(t *testing.T) {
			var err error
			if c, ok := r.req.(*pb.Player); ok {
				_, err = players().CreatePlayer(r.as.in(ctx), c)
			} else {
				_, err = players().UpdatePlayer(r.as.in(ctx), r.req.(*pb.PlayerUpdate))
			}
			wantPlayerFailure(t, err, code)
		})
	}
	if after := playerWorld(t, ctx); after != before {
		t.Fatalf("refused requests changed something:\n%s\n%s", before, after)
	}
}

func TestPlayerRejectsBadInput(t *testing.T) {
	ctx := testCtx(t)
	d := signedIn(t, ctx, "developer")
	createPlayer(t, ctx, d, &pb.Player{})
	ai := pb.PlayerType_AI
	refuseAll(t, ctx, codes.InvalidArgument, []playerCall{
		{"short username", d, &pb.Player{Username: "ab"}},
		{"long username", d, &pb.Player{Username: string(make([]byte, 33))}},
		{"username chars", d, &pb.Player{Username: "bad name!"}},
		{"AI needs username", d, &pb.Player{Type: ai}},
		{"bad email", d, &pb.Player{Username: "okname", Email: proto.String("nope@")}},
		{"email with name", d, &pb.Player{Username: "okname", Email: proto.String("Bob <b@x.io>")}},
		{"long team", d, &pb.Player{Username: "okname", Team: proto.String(string(make([]rune, 65)))}},
		{"negative score", d, &pb.Player{Username: "okname", Score: -1}},
		{"unknown status", d, &pb.Player{Username: "okname", Status: 7}},
		{"unknown type", d, &pb.Player{Username: "okname", Type: 9}},
		{"unknown role", d, &pb.Player{Username: "okname", Type: ai, Role: proto.String("king")}},
		{"AI id not uuid", d, &pb.Player{Username: "okname", Type: ai, Id: "bot-1"}},
		{"update bad id", d, &pb.PlayerUpdate{Id: "nope", Team: proto.String("x")}},
		{"update long team", d, &pb.PlayerUpdate{Id: d.id, Team: proto.String(string(make([]rune, 65)))}},
		{"update unknown status", d, &pb.PlayerUpdate{Id: d.id, Status: pb.PlayerStatus(5).Enum()}},
		{"update unknown type", d, &pb.PlayerUpdate{Id: d.id, Type: pb.PlayerType(5).Enum()}},
		{"update empty role", d, &pb.PlayerUpdate{Id: d.id, Role: proto.String("")}},
	})
	_, err := players().GetPlayer(d.in(ctx), &pb.PlayerGet{Id: proto.String("x")})
	wantPlayerFailure(t, err, codes.InvalidArgument)
}

// Every row of the rules in command/player is refused, and changes nothing.
func TestPlayerDenied(t *testing.T) {
	ctx := testCtx(t)
	u, other, dev, dev2 := signedIn(t, ctx, "player"), signedIn(t, ctx, "player"), signedIn(t, ctx, "developer"), signedIn(t, ctx, "developer")
	createPlayer(t, ctx, u, &pb.Player{})
	bot := createPlayer(t, ctx, dev, &pb.Player{Username: "bot_d", Type: pb.PlayerType_AI}).GetId()
	ai := pb.PlayerType_AI
	refuseAll(t, ctx, codes.PermissionDenied, []playerCall{
		{"human for another user", other, &pb.Player{Id: u.id}},
		{"player sets own role", other, &pb.Player{Role: proto.String("admin")}},
		{"player creates AI", other, &pb.Player{Username: "bot_x", Type: ai}},
		{"developer gives AI admin role", dev, &pb.Player{Username: "bot_x", Type: ai, Role: proto.String("admin")}},
		{"AI with a user's id", dev, &pb.Player{Id: other.id, Username: "bot_x", Type: ai}},
		{"update another's player", other, &pb.PlayerUpdate{Id: u.id, Team: proto.String("x")}},
		{"player changes own type", u, &pb.PlayerUpdate{Id: u.id, Type: ai.Enum()}},
		{"player changes own role", u, &pb.PlayerUpdate{Id: u.id, Role: proto.String("admin")}},
		{"developer updates others' AI", dev2, &pb.PlayerUpdate{Id: bot, Status: pb.PlayerStatus_INACTIVE.Enum()}},
		{"AI owner changes type", dev, &pb.PlayerUpdate{Id: bot, Type: pb.PlayerType_HUMAN.Enum()}},
		{"AI owner changes role", dev, &pb.PlayerUpdate{Id: bot, Role: proto.String("developer")}},
		{"developer changes a human's role", dev, &pb.PlayerUpdate{Id: u.id, Role: proto.String("developer")}},
		{"player sets own score", other, &pb.Player{Score: 5}},
		{"developer sets own score", dev2, &pb.Player{Score: 1}},
		{"developer sets an AI's score", dev, &pb.Player{Username: "bot_s", Type: ai, Score: 100}},
	})
	_, err := players().GetPlayer(ctx, &pb.PlayerGet{Id: &u.id})
	wantCode(t, err, codes.Unauthenticated)
}

func TestPlayerOptimisticConcurrency(t *testing.T) {
	ctx := testCtx(t)
	u := signedIn(t, ctx, "player")
	createPlayer(t, ctx, u, &pb.Player{})
	at1 := metadata.AppendToOutgoingContext(u.in(ctx), "x-oof-expected-version", "1")
	if _, err := players().UpdatePlayer(at1, &pb.PlayerUpdate{Id: u.id, Team: proto.String("a")}); err != nil {
		t.Fatal(err)
	}
	before := playerWorld(t, ctx)
	_, err := players().UpdatePlayer(at1, &pb.PlayerUpdate{Id: u.id, Team: proto.String("b")}) // missed version 2
	wantPlayerFailure(t, err, codes.Aborted)
	if playerWorld(t, ctx) != before || getPlayer(t, ctx, u, u.id).GetTeam() != "a" {
		t.Fatal("a stale update changed the player")
	}
	// Racing updates either win or abort; none is lost silently.
	results := make(chan codes.Code, 8)
	for i := range 8 {
		go func() {
			_, err := players().UpdatePlayer(u.in(ctx), &pb.PlayerUpdate{Id: u.id, Team: proto.String(fmt.Sprint("t", i))})
			results <- status.Code(err)
		}()
	}
	n := map[codes.Code]int{}
	for range 8 {
		n[<-results]++
	}
	v := countRows(t, ctx, `SELECT version FROM command_aggregates WHERE kind = 'player' AND id = $1`, u.id)
	if n[codes.OK]+n[codes.Aborted] != 8 || v != 2+n[codes.OK] {
		t.Fatalf("racing updates: %v, version %d", n, v)
	}
}

func TestPlayerEmailOnlyForSelfOwnerAndAdmin(t *testing.T) {
	ctx := testCtx(t)
	u, other, admin, dev := signedIn(t, ctx, "player"), signedIn(t, ctx, "player"), signedIn(t, ctx, "admin"), signedIn(t, ctx, "developer")
	email := proto.String(u.username + "@example.com")
	createPlayer(t, ctx, u, &pb.Player{Email: email})
	bot := createPlayer(t, ctx, dev, &pb.Player{Username: "bot_e", Type: pb.PlayerType_AI, Email: email})
	shown := func(viewer member, id string) bool { return getPlayer(t, ctx, viewer, id).Email != nil }
	if !shown(u, u.id) || !shown(admin, u.id) || shown(other, u.id) || !shown(dev, bot.GetId()) || shown(other, bot.GetId()) {
		t.Fatal("the e-mail must show to the player's own user, its owner and admins, and to no one else")
	}
	_, err := players().GetPlayer(u.in(ctx), &pb.PlayerGet{Id: proto.String(uuid.NewString())})
	wantPlayerFailure(t, err, codes.NotFound)
}
