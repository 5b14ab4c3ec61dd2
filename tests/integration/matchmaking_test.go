package integration

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/internal/platform"
	"github.com/oof-gg/platform/pkg/routing"
)

func queue(ctx context.Context, a actor, game string, action gamepb.JoinLeaveGame_Action, region *stdpb.RegionEnum, team *string) (*gamepb.Session, error) {
	s, _, err := joinLeave(ctx, a, &gamepb.JoinLeaveGame{GameId: game, Action: action, Region: region, TeamId: team})
	return s, err
}

// ticketState reads a ticket's state straight from Redis.
func ticketState(t *testing.T, ctx context.Context, id string) (state, session string) {
	t.Helper()
	v, err := env.Redis.HMGet(ctx, env.Cfg.RedisKeyPrefix+"mm:t:"+id, "state", "session").Result()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v[0].(string)
	sess, _ := v[1].(string)
	return s, sess
}

// lifecycle lists the matchmaking event types of a ticket on the log.
func lifecycle(t *testing.T, ticket string) []string {
	t.Helper()
	var out []string
	for _, m := range readTopic(t, env.Topic(platform.TopicMatchmaking)) {
		if string(m.Key) == ticket {
			out = append(out, header(m, "ce_type"))
		}
	}
	return out
}

func waitEvents(t *testing.T, ticket string, want ...string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got = lifecycle(t, ticket); slices.Equal(got, want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("events of ticket %s: %v, want %v", ticket, got, want)
}

// N players of a game with sessions of k are placed by two matchmaker
// instances (the one of the shared platform and a -target=matchmaker one)
// into N/k sessions of k, none twice, none left over.
func TestMatchmakingPlacesEveryPlayerOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	second, err := env.RunPlatform(ctx, env.Cfg, routing.TargetMatchmaker)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	const n, k = 12, 3
	owner := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("3"), MaxSessions: ptr("100")})
	players := make([]actor, n)
	for i := range players {
		players[i] = signInAs(t, ctx, "player")
	}
	tickets := make([]string, n)
	var wg sync.WaitGroup
	for i, p := range players {
		wg.Go(func() {
			s, err := queue(ctx, p, g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, nil)
			if err != nil || s.GetState() != gamepb.GameState_STATE_QUEUED || s.GetGameId() != g.GetId() {
				t.Errorf("queue: %v %v", s, err)
			}
			tickets[i] = s.GetId()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	bySession := map[string][]string{}
	waitFor(t, func() bool {
		clear(bySession)
		for i, id := range tickets {
			state, sess := ticketState(t, ctx, id)
			if state != "matched" {
				return false
			}
			bySession[sess] = append(bySession[sess], players[i].id)
		}
		return true
	})
	if len(bySession) != n/k {
		t.Fatalf("%d sessions for %d players of %d: %v", len(bySession), n, k, bySession)
	}
	seen := map[string]bool{}
	for id, want := range bySession {
		s := getSession(t, ctx, owner, id)
		got := slices.Sorted(slices.Values(s.GetUserIds()))
		if !slices.Equal(got, slices.Sorted(slices.Values(want))) || s.GetState() != gamepb.GameState_STATE_STARTED {
			t.Fatalf("session %s has %v (%s), tickets say %v", id, got, s.GetState(), want)
		}
		for _, u := range got {
			if seen[u] {
				t.Fatalf("player %s placed twice", u)
			}
			seen[u] = true
		}
	}
	if got := countRows(t, ctx, `SELECT count(*) FROM sessions WHERE game_id = $1::uuid`, g.GetId()); got != n/k {
		t.Fatalf("%d sessions created, want %d", got, n/k)
	}
	waitEvents(t, tickets[0], "oof.events.v1.MatchSearching", "oof.events.v1.MatchFound")
}

// Teams are balanced: with red and blue tickets a session of 4 gets two of
// each; fewer players start after the max wait only when the game allows.
func TestMatchmakingTeamsAndMinimum(t *testing.T) {
	ctx := testCtx(t)
	owner := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("4")})
	var ids []string
	for _, team := range []string{"red", "red", "red", "blue", "blue"} {
		s, err := queue(ctx, signInAs(t, ctx, "player"), g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, ptr(team))
		wantCode(t, err, codes.OK)
		ids = append(ids, s.GetId())
	}
	var session string
	waitFor(t, func() bool { _, session = ticketState(t, ctx, ids[4]); return session != "" })
	teams := map[string]int{}
	for _, a := range getSession(t, ctx, owner, session).GetAttributes() {
		teams[a.GetStringValue()]++
	}
	if teams["red"] != 2 || teams["blue"] != 2 {
		t.Fatalf("teams of the session: %v", teams)
	}
	if state, _ := ticketState(t, ctx, ids[2]); state != "queued" {
		t.Fatalf("the third red ticket is %q, want still queued", state)
	}

	// min_players 2: after OOF_MATCH_MAX_WAIT two players start.
	few := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("4"), Data: ptr(`{"matchmaking":{"min_players":2}}`)})
	eu := stdpb.RegionEnum_EU_WEST
	a, err := queue(ctx, signInAs(t, ctx, "player"), few.GetId(), gamepb.JoinLeaveGame_JOIN, &eu, nil)
	wantCode(t, err, codes.OK)
	b, err := queue(ctx, signInAs(t, ctx, "player"), few.GetId(), gamepb.JoinLeaveGame_JOIN, &eu, nil)
	wantCode(t, err, codes.OK)
	waitFor(t, func() bool { _, session = ticketState(t, ctx, b.GetId()); return session != "" })
	s := getSession(t, ctx, owner, session)
	if len(s.GetUserIds()) != 2 || s.GetRegion() != eu {
		t.Fatalf("smaller session: %v in %s", s.GetUserIds(), s.GetRegion())
	}
	if _, sa := ticketState(t, ctx, a.GetId()); sa != session {
		t.Fatalf("tickets placed apart: %s, %s", sa, session)
	}
}

// A ticket without heartbeats expires: the matchmaker ends it (timed-out
// event), WatchQueue answers NOT_FOUND, and JOIN starts a new ticket.
func TestMatchmakingTicketExpires(t *testing.T) {
	ctx := testCtx(t)
	owner, p := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("4")})
	s, err := queue(ctx, p, g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, nil)
	wantCode(t, err, codes.OK)
	waitFor(t, func() bool { st, _ := ticketState(t, ctx, s.GetId()); return st == "expired" })
	stream, err := games().WatchQueue(p.ctx(ctx), &gamepb.Session{Id: s.GetId()})
	wantCode(t, err, codes.OK)
	_, err = stream.Recv()
	wantCode(t, err, codes.NotFound)
	waitEvents(t, s.GetId(), "oof.events.v1.MatchSearching", "oof.events.v1.MatchTimedOut")
	again, err := queue(ctx, p, g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, nil)
	wantCode(t, err, codes.OK)
	if again.GetId() == s.GetId() {
		t.Fatal("JOIN after expiry answered the expired ticket")
	}
}

// WatchQueue: queued, then the started session, then OK; an open stream
// keeps the ticket alive past its TTL; LEAVE ends it CANCELLED.
func TestWatchQueueLifecycle(t *testing.T) {
	ctx := testCtx(t)
	owner, p1, p2, p3 := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player"), signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("2")})
	q1, err := queue(ctx, p1, g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, nil)
	wantCode(t, err, codes.OK)
	stream, err := games().WatchQueue(p1.ctx(ctx), &gamepb.Session{Id: q1.GetId()})
	wantCode(t, err, codes.OK)
	first, err := stream.Recv()
	wantCode(t, err, codes.OK)
	if first.GetId() != q1.GetId() || first.GetState() != gamepb.GameState_STATE_QUEUED {
		t.Fatalf("first message: %v", first)
	}
	// Someone else may not watch it.
	other, err := games().WatchQueue(p2.ctx(ctx), &gamepb.Session{Id: q1.GetId()})
	wantCode(t, err, codes.OK)
	_, err = other.Recv()
	wantCode(t, err, codes.PermissionDenied)
	// Past the ticket TTL the open stream has kept it queued.
	time.Sleep(env.Cfg.MatchTicketTTL + time.Second)
	if st, _ := ticketState(t, ctx, q1.GetId()); st != "queued" {
		t.Fatalf("watched ticket is %q after its TTL", st)
	}
	_, err = queue(ctx, p2, g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, nil)
	wantCode(t, err, codes.OK)
	placed, err := stream.Recv()
	wantCode(t, err, codes.OK)
	if placed.GetId() == q1.GetId() || placed.GetState() != gamepb.GameState_STATE_STARTED || len(placed.GetUserIds()) != 2 {
		t.Fatalf("placed: %v", placed)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the start the stream should end OK, got %v", err)
	}

	q3, err := queue(ctx, p3, g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, nil)
	wantCode(t, err, codes.OK)
	s3, err := games().WatchQueue(p3.ctx(ctx), &gamepb.Session{Id: q3.GetId()})
	wantCode(t, err, codes.OK)
	if _, err := s3.Recv(); err != nil {
		t.Fatal(err)
	}
	left, err := queue(ctx, p3, g.GetId(), gamepb.JoinLeaveGame_LEAVE, nil, nil)
	wantCode(t, err, codes.OK)
	if left.GetId() != q3.GetId() {
		t.Fatalf("LEAVE answered %v", left)
	}
	_, err = s3.Recv()
	wantCode(t, err, codes.Canceled)
	_, err = queue(ctx, p3, g.GetId(), gamepb.JoinLeaveGame_LEAVE, nil, nil)
	wantCode(t, err, codes.NotFound)
	waitEvents(t, q3.GetId(), "oof.events.v1.MatchSearching", "oof.events.v1.MatchCancelled")
}

// Queueing someone else: refused for players (and nothing queued), allowed
// for the game's managers; a second JOIN with another region is refused.
func TestMatchmakingQueueRules(t *testing.T) {
	ctx := testCtx(t)
	owner, p1, p2 := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxPlayersPerSession: ptr("8")})
	queued := func() bool {
		n, err := env.Redis.Exists(ctx, env.Cfg.RedisKeyPrefix+"mm:p:"+g.GetId()+":"+p1.id).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	_, _, err := joinLeave(ctx, p2, &gamepb.JoinLeaveGame{UserId: p1.id, GameId: g.GetId()})
	wantCode(t, err, codes.PermissionDenied)
	if queued() {
		t.Fatal("a refused JOIN queued the player")
	}
	_, _, err = joinLeave(ctx, p1, &gamepb.JoinLeaveGame{GameId: owner.id})
	wantCode(t, err, codes.NotFound)
	_, _, err = joinLeave(ctx, p1, &gamepb.JoinLeaveGame{GameId: g.GetId(), TeamId: ptr("")})
	wantCode(t, err, codes.InvalidArgument)
	s, _, err := joinLeave(ctx, owner, &gamepb.JoinLeaveGame{UserId: p1.id, GameId: g.GetId()})
	wantCode(t, err, codes.OK)
	if !queued() {
		t.Fatal("the owner's JOIN for p1 queued nothing")
	}
	// JOIN again (a heartbeat) answers the same ticket; another region is refused.
	again, err := queue(ctx, p1, g.GetId(), gamepb.JoinLeaveGame_JOIN, nil, nil)
	wantCode(t, err, codes.OK)
	if again.GetId() != s.GetId() {
		t.Fatalf("JOIN again answered another ticket %s, want %s", again.GetId(), s.GetId())
	}
	_, err = queue(ctx, p1, g.GetId(), gamepb.JoinLeaveGame_JOIN, ptr(stdpb.RegionEnum_OC), nil)
	wantCode(t, err, codes.FailedPrecondition)
	_, _, err = joinLeave(ctx, p2, &gamepb.JoinLeaveGame{UserId: p1.id, GameId: g.GetId(), Action: gamepb.JoinLeaveGame_LEAVE})
	wantCode(t, err, codes.PermissionDenied)
	if !queued() {
		t.Fatal("a refused LEAVE un-queued the player")
	}
}
