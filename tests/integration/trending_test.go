package integration

import (
	"slices"
	"testing"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

func TestTrendingRanksByRecentActivity(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	busy := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	quiet := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	idle := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	for range 4 {
		newSession(t, ctx, dev, busy.GetId(), "p1", "p2")
	}
	newSession(t, ctx, dev, quiet.GetId())

	// The trending projector is not the one commands wait for, so give it a
	// moment, bounded.
	var ids []string
	waitFor(t, func() bool {
		ids = trendingIDs(t, dev)
		return slices.Contains(ids, busy.GetId()) && slices.Contains(ids, quiet.GetId())
	})
	if slices.Index(ids, busy.GetId()) > slices.Index(ids, quiet.GetId()) {
		t.Fatalf("busy game ranked below quiet game: %v", ids)
	}
	if slices.Contains(ids, idle.GetId()) {
		t.Fatal("a game without activity is trending")
	}
}

// trendingIDs walks every page of TrendingGame.
func trendingIDs(t *testing.T, a actor) []string {
	t.Helper()
	ctx := testCtx(t)
	var ids []string
	var cursor *string
	for range 100 {
		resp, err := games().TrendingGame(a.ctx(ctx), &gamepb.TrendingGamesRequest{Limit: ptr(int32(3)), Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range resp.GetGames().GetGames() {
			ids = append(ids, g.GetId())
		}
		if resp.GetPagination().NextPageToken == nil {
			return ids
		}
		cursor = resp.GetPagination().NextPageToken
	}
	t.Fatal("trending pages do not end")
	return nil
}
