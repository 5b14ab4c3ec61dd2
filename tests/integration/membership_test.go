package integration

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	pb "github.com/oof-gg/platform/api/gen/v1/api/player"
)

// CreateSession and UpdateSession apply one membership rule: a player adds
// only themselves, so a host cannot add, right after creating, the players
// it could not list at create. Refusals change nothing.
func TestSessionMembershipSameAtCreateAndUpdate(t *testing.T) {
	ctx := testCtx(t)
	owner, host, other := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{})
	print := func() string { return gameSessionsPrint(t, ctx, g.GetId()) }
	before := print()
	_, err := createSessionAs(ctx, host, g.GetId(), host.id, other.id)
	refusedUnchanged(t, err, codes.PermissionDenied, "add other players", before, print)

	s, err := createSessionAs(ctx, host, g.GetId(), host.id)
	wantCode(t, err, codes.OK)
	before = print()
	_, err = games().UpdateSession(host.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), UserIds: []string{host.id, other.id}})
	refusedUnchanged(t, err, codes.PermissionDenied, "add other players", before, print)

	// The game's owner adds players; the host may then remove them.
	_, err = games().UpdateSession(owner.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), UserIds: []string{host.id, other.id}})
	wantCode(t, err, codes.OK)
	up, err := games().UpdateSession(host.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), UserIds: []string{host.id}})
	wantCode(t, err, codes.OK)
	if got := up.GetSession().GetUserIds(); len(got) != 1 || got[0] != host.id {
		t.Fatalf("players after the host removed one: %v", got)
	}
}

// setUserIDs marks an UpdateSession's user_ids as set even when empty.
func setUserIDs(ctx context.Context, value string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-oof-set-user-ids", value)
}

// The last member can leave: an empty user_ids with x-oof-set-user-ids is
// the empty list (without the header an empty list changes nothing, as
// before). Who may remove whom is the same rule as for any other list.
func TestLastMemberLeaves(t *testing.T) {
	ctx := testCtx(t)
	owner, host, m, m2 := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player"), signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{})
	leave := func(a actor, s *gamepb.Session) (*gamepb.Session, error) {
		resp, err := games().UpdateSession(setUserIDs(a.ctx(ctx), "true"), &gamepb.SessionUpdate{Id: s.GetId()})
		return resp.GetSession(), err
	}
	wantEmpty := func(t *testing.T, s *gamepb.Session, err error) {
		t.Helper()
		wantCode(t, err, codes.OK)
		if got := getSession(t, ctx, owner, s.GetId()); len(s.GetUserIds()) != 0 || len(got.GetUserIds()) != 0 {
			t.Fatalf("players after the last left: answered %v, read %v", s.GetUserIds(), got.GetUserIds())
		}
	}

	t.Run("the host, last of its session", func(t *testing.T) {
		s, err := createSessionAs(ctx, host, g.GetId(), host.id)
		wantCode(t, err, codes.OK)
		// Without the header an empty list is "no change".
		_, err = games().UpdateSession(host.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: gamepb.GameState_STATE_PAUSED})
		wantCode(t, err, codes.OK)
		if got := getSession(t, ctx, host, s.GetId()).GetUserIds(); len(got) != 1 {
			t.Fatalf("an update without user_ids changed the players to %v", got)
		}
		left, err := leave(host, s)
		wantEmpty(t, left, err)
	})
	t.Run("a member, last of a session someone else hosts", func(t *testing.T) {
		s, err := createSessionAs(ctx, owner, g.GetId(), m.id)
		wantCode(t, err, codes.OK)
		left, err := leave(m, s)
		wantEmpty(t, left, err)
		// No longer a member, m can no longer change it.
		_, err = games().UpdateSession(m.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: gamepb.GameState_STATE_PAUSED})
		wantCode(t, err, codes.PermissionDenied)
	})
	t.Run("a member cannot empty a list with others", func(t *testing.T) {
		s, err := createSessionAs(ctx, owner, g.GetId(), m.id, m2.id)
		wantCode(t, err, codes.OK)
		print := func() string { return gameSessionsPrint(t, ctx, g.GetId()) }
		before := print()
		_, err = leave(m, s)
		refusedUnchanged(t, err, codes.PermissionDenied, "remove other players", before, print)
		before = print()
		_, err = games().UpdateSession(setUserIDs(m.ctx(ctx), "maybe"), &gamepb.SessionUpdate{Id: s.GetId()})
		refusedUnchanged(t, err, codes.InvalidArgument, "x-oof-set-user-ids", before, print)
	})
}

// CreateEntity.player_id is empty, the caller, or a member of the session;
// anyone else is PERMISSION_DENIED (for managers too) and creates nothing.
func TestEntityPlayerMustBeInTheSession(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	m, outsider := signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	_, err := games().UpdateSession(w.dev.ctx(ctx), &gamepb.SessionUpdate{Id: w.session.GetId(), UserIds: []string{w.host.id, m.id}})
	wantCode(t, err, codes.OK)
	rows := []struct {
		name   string
		who    actor
		player *string
		want   codes.Code
	}{
		{"no player", w.host, nil, codes.OK},
		{"empty player", w.host, ptr(""), codes.OK},
		{"the caller", w.host, ptr(w.host.id), codes.OK},
		{"another member", w.host, ptr(m.id), codes.OK},
		{"a member names the host", m, ptr(w.host.id), codes.OK},
		{"the game owner names itself", w.dev, ptr(w.dev.id), codes.OK},
		{"a member names an outsider", w.host, ptr(outsider.id), codes.PermissionDenied},
		{"a member names no user", m, ptr("nobody"), codes.PermissionDenied},
		{"the game owner names an outsider", w.dev, ptr(outsider.id), codes.PermissionDenied},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			print := func() string { return entitySessionPrint(t, ctx, w.session.GetId()) }
			before := print()
			resp, err := games().CreateEntity(r.who.ctx(ctx), &entCreate{Name: "unit", Type: "npc",
				SessionId: w.session.GetId(), GameId: w.game.GetId(), PlayerId: r.player})
			if r.want == codes.OK {
				wantCode(t, err, codes.OK)
				if r.player != nil && resp.GetEntity().GetPlayerId() != *r.player {
					t.Fatalf("player_id %q, want %q", resp.GetEntity().GetPlayerId(), *r.player)
				}
				return
			}
			refusedUnchanged(t, err, r.want, "outside this session", before, print)
		})
	}
}

// Only admins and game instances (service) set a score at CreatePlayer;
// the refusals are rows of TestPlayerDenied.
func TestPlayerScoreSetByAdminsAndServices(t *testing.T) {
	ctx := testCtx(t)
	for role, score := range map[string]int32{"admin": 7, "service": 3, "player": 0} {
		u := signedIn(t, ctx, role)
		if got := createPlayer(t, ctx, u, &pb.Player{Score: score}); got.GetScore() != score {
			t.Fatalf("%s created a player with score %d, want %d", role, got.GetScore(), score)
		}
	}
}
