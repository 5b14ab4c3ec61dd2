package integration

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
)

// joinLeave calls JoinLeave as a; a nil sessionID means the queue.
func joinLeave(ctx context.Context, a actor, req *gamepb.JoinLeaveGame) (*gamepb.Session, string, error) {
	var md metadata.MD
	resp, err := games().JoinLeave(a.ctx(ctx), req, grpc.Header(&md))
	return resp.GetSession(), first(md.Get("x-oof-version")), err
}

// JoinLeave with a session_id: joinable sessions take the caller (or, from
// a manager, the user named); every refusal answers a clear code and
// changes nothing; joining twice and leaving when not in are no-ops.
func TestJoinLeaveBySessionID(t *testing.T) {
	ctx := testCtx(t)
	owner, host := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player")
	p1, p2 := signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("2")})
	eu := stdpb.RegionEnum_EU_WEST
	resp, err := games().CreateSession(host.ctx(ctx), &gamepb.SessionCreate{GameId: g.GetId(), UserIds: []string{host.id},
		State: gamepb.GameState_STATE_STARTED, Region: &eu})
	wantCode(t, err, codes.OK)
	s := resp.GetSession()
	print := func() string { return gameSessionsPrint(t, ctx, g.GetId()) }
	req := func(user string, action gamepb.JoinLeaveGame_Action, region *stdpb.RegionEnum) *gamepb.JoinLeaveGame {
		return &gamepb.JoinLeaveGame{UserId: user, GameId: g.GetId(), Action: action, SessionId: ptr(s.GetId()), Region: region}
	}
	join, leave := gamepb.JoinLeaveGame_JOIN, gamepb.JoinLeaveGame_LEAVE
	players := func() []string { return getSession(t, ctx, owner, s.GetId()).GetUserIds() }

	refusals := []struct {
		name string
		who  actor
		req  *gamepb.JoinLeaveGame
		code codes.Code
		says string
	}{
		{"wrong region", p1, req("", join, ptr(stdpb.RegionEnum_NA_EAST)), codes.FailedPrecondition, "region"},
		{"unknown session", p1, &gamepb.JoinLeaveGame{GameId: g.GetId(), SessionId: ptr(g.GetId())}, codes.NotFound, "session not found"},
		{"session of another game", p1, &gamepb.JoinLeaveGame{GameId: owner.id, SessionId: ptr(s.GetId())}, codes.NotFound, "not found"},
		{"bad session id", p1, &gamepb.JoinLeaveGame{GameId: g.GetId(), SessionId: ptr("x")}, codes.InvalidArgument, "session_id"},
		{"a player joins someone else", p1, req(p2.id, join, nil), codes.PermissionDenied, "another user"},
		{"the host removes someone through JoinLeave", host, req(p1.id, leave, nil), codes.PermissionDenied, "another user"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			before := print()
			_, _, err := joinLeave(ctx, r.who, r.req)
			refusedUnchanged(t, err, r.code, r.says, before, print)
		})
	}

	got, version, err := joinLeave(ctx, p1, req("", join, &eu))
	wantCode(t, err, codes.OK)
	if !slices.Equal(got.GetUserIds(), []string{host.id, p1.id}) || version != "2" {
		t.Fatalf("after p1 joined: %v at version %q", got.GetUserIds(), version)
	}
	// Joining again is a no-op: OK, the same session and version, no change.
	before := print()
	again, version, err := joinLeave(ctx, p1, req(p1.id, join, nil))
	wantCode(t, err, codes.OK)
	if version != "2" || len(again.GetUserIds()) != 2 || print() != before {
		t.Fatalf("joining twice changed something: %v at version %q", again.GetUserIds(), version)
	}
	// Full: the game holds 2 players per session.
	_, _, err = joinLeave(ctx, p2, req("", join, nil))
	refusedUnchanged(t, err, codes.FailedPrecondition, "full", before, print)

	// A manager may name another user, either way.
	_, _, err = joinLeave(ctx, owner, req(p1.id, leave, nil))
	wantCode(t, err, codes.OK)
	_, _, err = joinLeave(ctx, owner, req(p2.id, join, nil))
	wantCode(t, err, codes.OK)
	if got := players(); !slices.Equal(got, []string{host.id, p2.id}) {
		t.Fatalf("after the owner moved players: %v", got)
	}
	// LEAVE removes the caller; leaving again is a no-op.
	_, version, err = joinLeave(ctx, p2, req("", leave, nil))
	wantCode(t, err, codes.OK)
	before = print()
	_, version2, err := joinLeave(ctx, p2, req("", leave, nil))
	wantCode(t, err, codes.OK)
	if version2 != version || print() != before {
		t.Fatalf("leaving when not in changed something (version %s -> %s)", version, version2)
	}
	if got := players(); !slices.Equal(got, []string{host.id}) {
		t.Fatalf("after p2 left: %v", got)
	}

	// A finished session cannot be joined.
	_, err = games().UpdateSession(host.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: gamepb.GameState_STATE_FINISHED})
	wantCode(t, err, codes.OK)
	before = print()
	_, _, err = joinLeave(ctx, p1, req("", join, nil))
	refusedUnchanged(t, err, codes.FailedPrecondition, "FINISHED", before, print)
}
