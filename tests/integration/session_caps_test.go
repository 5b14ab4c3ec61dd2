package integration

import (
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// Concurrent creates cannot race past the caps: the counters are raised in
// the creates' commits, which may share one group transaction. Exactly
// max_sessions of the owner's creates succeed, and a player's creates stop
// at their own quota, whatever the interleaving; the refused ones wrote
// nothing.
func TestSessionCapsHoldUnderConcurrentCreates(t *testing.T) {
	ctx := testCtx(t)
	const maxSessions, racers = 5, 16
	owner, p := signInAs(t, ctx, "developer"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxSessions: ptr("5")})
	other := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxSessions: ptr("1000")})
	race := func(a actor, gameID string, users ...string) map[codes.Code]int {
		codesSeen := make([]codes.Code, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				_, err := createSessionAs(ctx, a, gameID, users...)
				codesSeen[i] = codeOf(err)
			})
		}
		wg.Wait()
		n := map[codes.Code]int{}
		for _, c := range codesSeen {
			n[c]++
		}
		return n
	}
	liveSessions := func(gameID string) (n int) {
		err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM command_aggregates WHERE kind = 'session' AND parent_id = $1 AND live`, gameID).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := race(owner, g.GetId()); got[codes.OK] != maxSessions || got[codes.FailedPrecondition] != racers-maxSessions {
		t.Fatalf("owner's racing creates: %v, want %d OK and the rest FailedPrecondition", got, maxSessions)
	}
	if n := liveSessions(g.GetId()); n != maxSessions {
		t.Fatalf("%d live sessions after the race, want %d", n, maxSessions)
	}
	limit := env.Cfg.Quotas.OpenSessionsPerUser
	if got := race(p, other.GetId(), p.id); got[codes.OK] != limit || got[codes.ResourceExhausted] != racers-limit {
		t.Fatalf("player's racing creates: %v, want %d OK and the rest ResourceExhausted", got, limit)
	}
	if n := liveSessions(other.GetId()); n != limit {
		t.Fatalf("%d live sessions of the player after the race, want %d", n, limit)
	}
}

// Creates read the game from a cache; each commit checks the copy is
// current. Lowering max_sessions therefore binds the very next create,
// with the cache warm.
func TestSessionCreateSeesGameChangesAtOnce(t *testing.T) {
	ctx := testCtx(t)
	owner := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxSessions: ptr("10")})
	for range 2 {
		if _, err := createSessionAs(ctx, owner, g.GetId()); err != nil {
			t.Fatal(err)
		}
	}
	_, err := games().UpdateGame(owner.ctx(ctx), &gamepb.GameUpdateRequest{Id: g.GetId(), Name: g.GetName(), MaxSessions: ptr("2")})
	wantCode(t, err, codes.OK)
	_, err = createSessionAs(ctx, owner, g.GetId())
	wantCode(t, err, codes.FailedPrecondition)
	_, err = games().UpdateGame(owner.ctx(ctx), &gamepb.GameUpdateRequest{Id: g.GetId(), Name: g.GetName(), MaxSessions: ptr("3")})
	wantCode(t, err, codes.OK)
	_, err = createSessionAs(ctx, owner, g.GetId())
	wantCode(t, err, codes.OK)
}
