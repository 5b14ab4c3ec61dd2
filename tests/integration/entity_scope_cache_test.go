package integration

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/projector/entities"
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

// The live copy in Redis follows every committed change of an entity: the
// projector mirrors what each committed batch wrote, and clears the
// pending mark once the copy has caught up.
func TestEntityLiveCopyFollowsChanges(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	e := w.newEntity(t, ctx, entAttrs{"a": aInt(1)})
	key := entities.Key(env.Cfg.RedisKeyPrefix, w.session.GetId(), e.GetId())
	copyAt := func(version string) func() bool {
		return func() bool {
			h, err := env.Redis.HGetAll(ctx, key).Result()
			if err != nil || h[entities.FieldVersion] != version || h[entities.FieldPending] != "" {
				return false
			}
			var got gamepb.Entity
			if proto.Unmarshal([]byte(h[entities.FieldSnapshot]), &got) != nil {
				return false
			}
			want, _, err := w.get(ctx, w.host, e.GetId())
			return err == nil && proto.Equal(&got, want)
		}
	}
	waitFor(t, copyAt("1"))
	_, err := w.update(w.host.ctx(ctx), e.GetId(), aInt(2))
	wantCode(t, err, codes.OK)
	waitFor(t, copyAt("2"))
	wantCode(t, w.remove(w.host.ctx(ctx), e.GetId()), codes.OK)
	waitFor(t, func() bool { n, err := env.Redis.Exists(ctx, key).Result(); return err == nil && n == 0 })
}
