package integration

import (
	"testing"

	"google.golang.org/grpc/codes"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// The entity commands check the session against a cached copy, and each
// commit checks that copy is still current. These are the changes a stale
// copy would let through: every one must be refused right after the
// session changed, with the cache warm.
func TestEntityChangesSeeSessionChangesAtOnce(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	member := signInAs(t, ctx, "player")
	update := &gamepb.SessionUpdate{Id: w.session.GetId(), GameId: w.game.GetId(), UserIds: []string{w.host.id, member.id}}
	_, err := games().UpdateSession(setUserIDs(w.dev.ctx(ctx), "true"), update)
	wantCode(t, err, codes.OK)

	// Warm: the member's and the host's changes go through.
	wantCode(t, w.create(ctx, member), codes.OK)
	e := w.newEntity(t, ctx, entAttrs{"a": aInt(1)})

	// The member leaves: their next create is refused at once.
	update.UserIds = []string{w.host.id}
	_, err = games().UpdateSession(setUserIDs(w.dev.ctx(ctx), "true"), update)
	wantCode(t, err, codes.OK)
	wantCode(t, w.create(ctx, member), codes.PermissionDenied)
	wantCode(t, w.create(ctx, w.host), codes.OK)

	// The session ends: no create, update or delete gets through, though
	// each of them had the session cached as running.
	finish := &gamepb.SessionUpdate{Id: w.session.GetId(), GameId: w.game.GetId(), State: gamepb.GameState_STATE_FINISHED}
	wantCode(t, entErr(games().UpdateSession(w.host.ctx(ctx), finish)), codes.OK)
	wantCode(t, entErr(w.update(w.host.ctx(ctx), e.GetId(), aInt(2))), codes.FailedPrecondition)
	wantCode(t, w.create(ctx, w.host), codes.FailedPrecondition)
	wantCode(t, w.remove(w.host.ctx(ctx), e.GetId()), codes.FailedPrecondition)
	w.wantEntity(t, ctx, w.host, e, "1")
}
