package integration

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// Every row of docs/authorization.md for games and sessions: who may, who
// may not, and that a denied call changes nothing.
func TestGameAndSessionAuthorization(t *testing.T) {
	ctx := testCtx(t)
	owner := signInAs(t, ctx, "developer")
	otherDev := signInAs(t, ctx, "developer")
	admin := signInAs(t, ctx, "admin")
	service := signInAs(t, ctx, "service")
	host := signInAs(t, ctx, "player")
	member := signInAs(t, ctx, "player")
	stranger := signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("10")})

	// freshSession: hosted (created) by host, with host and member playing
	// (put there by the game's owner: a host adds only themselves). It is
	// deleted after its row, so host stays within its open-session quota.
	freshSession := func(t *testing.T) *gamepb.Session {
		s, _ := newSession(t, ctx, host, g.GetId(), host.id)
		if _, err := games().UpdateSession(owner.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), UserIds: []string{host.id, member.id}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = games().DeleteSession(owner.ctx(ctx), &gamepb.SessionDelete{Id: s.GetId()}) })
		return getSession(t, ctx, host, s.GetId())
	}

	type row struct {
		name string
		who  actor
		call func(context.Context, *gamepb.Session) error
		want codes.Code
	}
	createGame := func(ctx context.Context, _ *gamepb.Session) error {
		_, err := games().CreateGame(ctx, &gamepb.GameCreateRequest{Name: "g"})
		return err
	}
	updateGame := func(ctx context.Context, _ *gamepb.Session) error {
		_, err := games().UpdateGame(ctx, &gamepb.GameUpdateRequest{Id: g.GetId(), Description: "changed " + uniqueName("d")})
		return err
	}
	createSessionWith := func(users ...func() string) func(context.Context, *gamepb.Session) error {
		return func(ctx context.Context, _ *gamepb.Session) error {
			var ids []string
			for _, u := range users {
				ids = append(ids, u())
			}
			_, err := games().CreateSession(ctx, &gamepb.SessionCreate{GameId: g.GetId(), UserIds: ids})
			return err
		}
	}
	id := func(a actor) func() string { return func() string { return a.id } }
	pause := func(ctx context.Context, s *gamepb.Session) error {
		_, err := games().UpdateSession(ctx, &gamepb.SessionUpdate{Id: s.GetId(), State: gamepb.GameState_STATE_WAITING})
		return err
	}
	setPlayers := func(users ...func() string) func(context.Context, *gamepb.Session) error {
		return func(ctx context.Context, s *gamepb.Session) error {
			var ids []string
			for _, u := range users {
				ids = append(ids, u())
			}
			_, err := games().UpdateSession(ctx, &gamepb.SessionUpdate{Id: s.GetId(), UserIds: ids})
			return err
		}
	}
	del := func(ctx context.Context, s *gamepb.Session) error {
		_, err := games().DeleteSession(ctx, &gamepb.SessionDelete{Id: s.GetId()})
		return err
	}
	rows := []row{
		{"player creates game", host, createGame, codes.PermissionDenied},
		{"service creates game", service, createGame, codes.PermissionDenied},
		{"developer creates game", otherDev, createGame, codes.OK},
		{"admin creates game", admin, createGame, codes.OK},
		{"other developer updates game", otherDev, updateGame, codes.PermissionDenied},
		{"player updates game", member, updateGame, codes.PermissionDenied},
		{"owner updates game", owner, updateGame, codes.OK},
		{"admin updates game", admin, updateGame, codes.OK},

		{"player opens session for others", stranger, createSessionWith(id(stranger), id(member)), codes.PermissionDenied},
		{"player opens session for self", stranger, createSessionWith(id(stranger)), codes.OK},
		{"other developer opens session for others", otherDev, createSessionWith(id(member)), codes.PermissionDenied},
		{"game owner opens session for others", owner, createSessionWith(id(member), id(stranger)), codes.OK},
		{"admin opens session for others", admin, createSessionWith(id(member)), codes.OK},
		{"game instance opens session for others", service, createSessionWith(id(member)), codes.OK},

		{"stranger changes session", stranger, pause, codes.PermissionDenied},
		{"other developer changes session", otherDev, pause, codes.PermissionDenied},
		{"member changes session state", member, pause, codes.OK},
		{"host changes session", host, pause, codes.OK},
		{"game owner changes session", owner, pause, codes.OK},
		{"admin changes session", admin, pause, codes.OK},
		{"game instance changes session", service, pause, codes.OK},
		{"member adds a player", member, setPlayers(id(host), id(member), id(stranger)), codes.PermissionDenied},
		{"member removes the host", member, setPlayers(id(member)), codes.PermissionDenied},
		{"member leaves", member, setPlayers(id(host)), codes.OK},
		{"host adds a player", host, setPlayers(id(host), id(member), id(stranger)), codes.PermissionDenied},
		{"host swaps a player", host, setPlayers(id(host), id(stranger)), codes.PermissionDenied},
		{"host removes a member", host, setPlayers(id(host)), codes.OK},
		{"host leaves", host, setPlayers(id(member)), codes.OK},
		{"game owner adds a player", owner, setPlayers(id(host), id(member), id(stranger)), codes.OK},
		{"admin adds a player", admin, setPlayers(id(host), id(member), id(stranger)), codes.OK},
		{"game instance sets players", service, setPlayers(id(stranger)), codes.OK},

		{"stranger deletes session", stranger, del, codes.PermissionDenied},
		{"member deletes session", member, del, codes.PermissionDenied},
		{"host deletes session", host, del, codes.OK},
		{"game owner deletes session", owner, del, codes.OK},
		{"admin deletes session", admin, del, codes.OK},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			s := freshSession(t)
			gameBefore, _ := games().GetGame(owner.ctx(ctx), &gamepb.GameGetRequest{Id: ptr(g.GetId())})
			aggBefore := countRows(t, ctx, `SELECT count(*) FROM command_aggregates`)
			err := r.call(r.who.ctx(ctx), s)
			if codeOf(err) != r.want {
				t.Fatalf("got %v, want %v", err, r.want)
			}
			if r.want == codes.OK {
				return
			}
			assertBodyDetail(t, wantCode(t, err, r.want), r.want)
			if after := getSession(t, ctx, host, s.GetId()); !proto.Equal(after, s) {
				t.Fatal("a denied call changed the session")
			}
			gameAfter, _ := games().GetGame(owner.ctx(ctx), &gamepb.GameGetRequest{Id: ptr(g.GetId())})
			if !proto.Equal(gameBefore.GetGame(), gameAfter.GetGame()) {
				t.Fatal("a denied call changed the game")
			}
			if n := countRows(t, ctx, `SELECT count(*) FROM command_aggregates`); n != aggBefore {
				t.Fatal("a denied call created something")
			}
		})
	}
}
