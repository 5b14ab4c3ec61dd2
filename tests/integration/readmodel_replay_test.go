package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	pb "github.com/oof-gg/platform/api/gen/v1/api/player"
	scorepb "github.com/oof-gg/platform/api/gen/v1/api/score"
	"github.com/oof-gg/platform/tests/harness"
)

// readModels are the projected tables and how to dump them comparably.
var readModels = harness.ReadModelDumps

// The read models built live equal those a fresh set of projectors builds by
// replaying every topic from offset 0 into an empty schema.
func TestReadModelsEqualFreshReplay(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	// A player and an entity, so their tables are compared even when this
	// test runs alone.
	createPlayer(t, ctx, signedIn(t, ctx, "player"), &pb.Player{Username: "Replayed_1"})
	newEntWorld(t, ctx).newEntity(t, ctx, entAttrs{"a": aInt(1)})
	for i := range 3 {
		g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
		s, _ := newSession(t, ctx, dev, g.GetId(), "u1", fmt.Sprint("u", i+2))
		// Scores, so the score tables are compared too: a best and a sum
		// type, and the same player in every game (the across-games boards).
		for _, sub := range []*scorepb.ScoreSubmission{
			{PlayerId: dev.id, GameId: g.GetId(), Value: int64(10 * (i + 1)), Metadata: map[string]string{"map": "dune", "mode": "ranked"}},
			{PlayerId: dev.id, GameId: g.GetId(), Value: 3, ScoreType: "laps"},
		} {
			if _, err := scoresAPI().SubmitScore(dev.ctx(ctx), sub); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range []gamepb.GameState{gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_FINISHED} {
			if _, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: st}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tables, err := env.ReplayReadModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tables {
		if len(c.Live) == 0 {
			t.Fatalf("%s: live read model is empty; the comparison proves nothing", c.Table)
		}
		if !c.Equal() {
			t.Errorf("%s: live (%d rows) differs from replay (%d rows)", c.Table, len(c.Live), len(c.Replay))
		}
	}
}

func dump(t *testing.T, ctx context.Context, pool *pgxpool.Pool, q string) []string {
	t.Helper()
	rows, err := harness.DumpRows(ctx, pool, q)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
