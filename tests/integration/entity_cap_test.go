package integration

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// A session's entity quota (OOF_QUOTA_ENTITIES_PER_SESSION) holds exactly
// under concurrent creates, is answered RESOURCE_EXHAUSTED naming the
// limit, and deletes make room again. The counter is seeded near the
// limit, as if the session were full but for two.
func TestEntityCapHoldsUnderConcurrency(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	existing := w.newEntity(t, ctx, nil)
	limit := env.Cfg.Quotas.EntitiesPerSession
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
		case codes.ResourceExhausted:
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
	// Full: one more is refused, naming the limit, and changes nothing; a
	// delete makes room for exactly one.
	before := entitySessionPrint(t, ctx, w.session.GetId())
	st := wantCode(t, w.create(ctx, w.host), codes.ResourceExhausted)
	if !strings.Contains(st.Message(), fmt.Sprintf("at most %d entities", limit)) {
		t.Fatalf("refusal %q does not name the limit %d", st.Message(), limit)
	}
	if after := entitySessionPrint(t, ctx, w.session.GetId()); after != before {
		t.Fatalf("a refused create changed the session's entities:\n%s\n%s", before, after)
	}
	_, err := games().DeleteEntity(w.host.ctx(ctx), &gamepb.EntityDeleteRequest{Id: existing.GetId(),
		SessionId: w.session.GetId(), GameId: w.game.GetId()})
	wantCode(t, err, codes.OK)
	wantCode(t, w.create(ctx, w.host), codes.OK)
	wantCode(t, w.create(ctx, w.host), codes.ResourceExhausted)
}
