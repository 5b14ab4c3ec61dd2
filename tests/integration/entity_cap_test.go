package integration

import (
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// A session's entity cap (10,000) holds exactly under concurrent creates,
// and deletes make room again. The counter is seeded near the cap, as if
// the session were full but for two.
func TestEntityCapHoldsUnderConcurrency(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	existing := w.newEntity(t, ctx, nil)
	const limit = 10_000
	if _, err := env.Pool.Exec(ctx, `UPDATE aggregate_children SET live = $2
		WHERE parent_kind = 'session' AND parent_id = $1 AND child_kind = 'entity'`, w.session.GetId(), limit-2); err != nil {
		t.Fatal(err)
	}
	liveBefore := countRows(t, ctx, `SELECT count(*) FROM command_aggregates WHERE kind = 'entity' AND parent_id = $1`, w.session.GetId())

	const tries = 6
	codesSeen := make([]codes.Code, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codesSeen[i] = codeOf(w.create(ctx, w.host))
		}()
	}
	wg.Wait()
	ok, full := 0, 0
	for _, c := range codesSeen {
		switch c {
		case codes.OK:
			ok++
		case codes.FailedPrecondition:
			full++
		default:
			t.Fatalf("create answered %v", c)
		}
	}
	if ok != 2 || full != tries-2 {
		t.Fatalf("%d created, %d refused; want 2 and %d", ok, full, tries-2)
	}
	created := countRows(t, ctx, `SELECT count(*) FROM command_aggregates WHERE kind = 'entity' AND parent_id = $1`, w.session.GetId()) - liveBefore
	if created != 2 {
		t.Fatalf("%d entities in the write model, want 2 (refused creates must write nothing)", created)
	}
	// Full: one more is refused; a delete makes room for exactly one.
	wantCode(t, w.create(ctx, w.host), codes.FailedPrecondition)
	_, err := games().DeleteEntity(w.host.ctx(ctx), &gamepb.EntityDeleteRequest{Id: existing.GetId(),
		SessionId: w.session.GetId(), GameId: w.game.GetId()})
	wantCode(t, err, codes.OK)
	wantCode(t, w.create(ctx, w.host), codes.OK)
	wantCode(t, w.create(ctx, w.host), codes.FailedPrecondition)
}
