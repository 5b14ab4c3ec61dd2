package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/tests/harness"
)

// readModels are the projected tables and how to dump them comparably.
var readModels = harness.ReadModelDumps

// The read models built live equal those a fresh set of projectors builds by
// replaying every topic from offset 0 into an empty schema.
func TestReadModelsEqualFreshReplay(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	for i := range 3 {
		g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
		s, _ := newSession(t, ctx, dev, g.GetId(), "u1", fmt.Sprint("u", i+2))
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
