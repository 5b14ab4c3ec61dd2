package integration

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// entWorld is a game owned by dev with a STARTED session hosted by host.
type entWorld struct {
	dev, host actor
	game      *gamepb.Game
	session   *gamepb.Session
}

func newEntWorld(t *testing.T, ctx context.Context) entWorld {
	t.Helper()
	w := entWorld{dev: signInAs(t, ctx, "developer"), host: signInAs(t, ctx, "player")}
	w.game = newGame(t, ctx, w.dev, &gamepb.GameCreateRequest{})
	resp, err := games().CreateSession(w.host.ctx(ctx), &gamepb.SessionCreate{
		GameId: w.game.GetId(), UserIds: []string{w.host.id}, State: gamepb.GameState_STATE_STARTED})
	wantCode(t, err, codes.OK)
	w.session = resp.GetSession()
	return w
}

func (w entWorld) newEntity(t *testing.T, ctx context.Context, a entAttrs) *gamepb.Entity {
	t.Helper()
	resp, err := games().CreateEntity(w.host.ctx(ctx), &entCreate{Name: "crate", Type: "prop",
		SessionId: w.session.GetId(), GameId: w.game.GetId(), Attributes: a})
	wantCode(t, err, codes.OK)
	return resp.GetEntity()
}

// create adds a plain entity as a and returns the error.
func (w entWorld) create(ctx context.Context, a actor) error {
	_, err := games().CreateEntity(a.ctx(ctx), &entCreate{Name: "x", Type: "y", SessionId: w.session.GetId(), GameId: w.game.GetId()})
	return err
}

func (w entWorld) get(ctx context.Context, a actor, id string) (*gamepb.Entity, string, error) {
	var md metadata.MD
	resp, err := games().GetEntity(a.ctx(ctx), &gamepb.EntityGetRequest{Id: id, SessionId: w.session.GetId(), GameId: w.game.GetId()}, grpc.Header(&md))
	return resp.GetEntity(), first(md.Get("x-oof-version")), err
}

// update sends UpdateEntity on c (which carries the caller's token).
func (w entWorld) update(c context.Context, id string, values ...*entA) (*gamepb.StandardResponse, error) {
	return games().UpdateEntity(c, &gamepb.EntityUpdateRequest{Id: id, SessionId: w.session.GetId(), GameId: w.game.GetId(), Attributes: values})
}

func (w entWorld) remove(c context.Context, id string) error {
	_, err := games().DeleteEntity(c, &gamepb.EntityDeleteRequest{Id: id, SessionId: w.session.GetId(), GameId: w.game.GetId()})
	return err
}

// Short names keep the tables below one line per case.
type entA = gamepb.EntityAttribute
type entAttrs = map[string]*entA
type entCreate = gamepb.EntityCreateRequest

// entErr keeps a call's error, so a check fits on one line.
func entErr(_ any, err error) error { return err }

func aStr(s string) *entA    { return &entA{Value: &gamepb.EntityAttribute_StringValue{StringValue: s}} }
func aInt(i int32) *entA     { return &entA{Value: &gamepb.EntityAttribute_IntValue{IntValue: i}} }
func aFloat(f float32) *entA { return &entA{Value: &gamepb.EntityAttribute_FloatValue{FloatValue: f}} }
func aBool(b bool) *entA     { return &entA{Value: &gamepb.EntityAttribute_BoolValue{BoolValue: b}} }

// entEventually polls cond: the Redis copy is written after the projector's
// commit, which a command does not wait for (reads never depend on it).
func entEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// entityCounts counts entities in the write model and in the read model.
func entityCounts(t *testing.T, ctx context.Context) [2]int {
	return [2]int{countAggregates(t, ctx, "entity"), countRows(t, ctx, "SELECT count(*) FROM entities")}
}

// wantEntity requires GetEntity to answer want at version.
func (w entWorld) wantEntity(t *testing.T, ctx context.Context, a actor, want *gamepb.Entity, version string) {
	t.Helper()
	if got, v, err := w.get(ctx, a, want.GetId()); err != nil || !proto.Equal(got, want) || v != version {
		t.Fatalf("got entity %v (version %q, %v), want %v (version %s)", got, v, err, want, version)
	}
}

func TestEntityLifecycle(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	req := &entCreate{Name: "Goblin ☠", Type: "npc", SessionId: w.session.GetId(), GameId: w.game.GetId(),
		Attributes: entAttrs{"hp": aInt(-7), "name": aStr("Grünt é"), "speed": aFloat(1.5), "boss": aBool(false)},
		Controller: gamepb.EntityCreateRequest_PLAYER, PlayerId: ptr(w.host.id), Data: ptr(`{"loot":[1,2.5,{"x":"é"}],"n":null}`)}
	var md metadata.MD
	resp, err := games().CreateEntity(w.host.ctx(ctx), req, grpc.Header(&md))
	wantCode(t, err, codes.OK)
	want := &gamepb.Entity{Id: resp.GetEntity().GetId(), Name: req.Name, Type: req.Type, SessionId: req.SessionId, GameId: req.GameId,
		Attributes: req.Attributes, Controller: gamepb.Entity_PLAYER, PlayerId: req.PlayerId, Data: req.Data}
	id, err := uuid.Parse(want.Id)
	if err != nil || id.Version() != 7 || !proto.Equal(resp.GetEntity(), want) || first(md.Get("x-oof-version")) != "1" {
		t.Fatalf("created %v (version %v), want %v", resp.GetEntity(), md.Get("x-oof-version"), want)
	}
	w.wantEntity(t, ctx, w.host, want, "1")
	key := env.Cfg.RedisKeyPrefix + "entity:{" + w.session.GetId() + "}:" + want.Id
	// Keys in ascending order: boss, hp, name, speed. Unset elements keep values.
	up, err := w.update(w.host.ctx(ctx), want.Id, aBool(true), aInt(3), &entA{}, &entA{})
	wantCode(t, err, codes.OK)
	want.Attributes = entAttrs{"hp": aInt(3), "name": aStr("Grünt é"), "speed": aFloat(1.5), "boss": aBool(true)}
	if !proto.Equal(up.GetEntity(), want) {
		t.Fatalf("update result %v, want %v", up.GetEntity(), want)
	}
	w.wantEntity(t, ctx, w.host, want, "2") // read-your-writes
	entEventually(t, "the live copy at version 2", func() bool {
		vals, err := env.Redis.HMGet(ctx, key, "v", "s").Result()
		got := &gamepb.Entity{} // v and s are written together: s is a string when v is
		return err == nil && vals[0] == "2" && proto.Unmarshal([]byte(vals[1].(string)), got) == nil && proto.Equal(got, want)
	})
	wantCode(t, w.remove(w.host.ctx(ctx), want.Id), codes.OK)
	_, _, err = w.get(ctx, w.host, want.Id)
	wantCode(t, err, codes.NotFound)
	wantCode(t, entErr(w.update(w.host.ctx(ctx), want.Id)), codes.NotFound)
	wantCode(t, w.remove(w.host.ctx(ctx), want.Id), codes.NotFound)
	entEventually(t, "the live copy to be removed", func() bool { return env.Redis.Exists(ctx, key).Val() == 0 })
	var keys []string
	for _, m := range readTopic(t, env.Topic("oof.entity.v1")) {
		if header(m, "ce_subject") == "entity/"+want.Id {
			keys = append(keys, string(m.Key))
		}
	}
	if len(keys) != 3 || keys[0] != w.session.GetId() || keys[2] != w.session.GetId() {
		t.Fatalf("events of the entity keyed %v, want 3 keyed by session", keys)
	}
}

func TestEntityRejectsBadInput(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	e := w.newEntity(t, ctx, entAttrs{"a": aInt(1), "b": aStr("x")})
	many, values := entAttrs{}, []*entA{}
	for i := range 65 {
		many[strconv.Itoa(i)], values = aInt(1), append(values, aInt(1))
	}
	creates := map[string]func(r *entCreate){
		"bad session id":     func(r *entCreate) { r.SessionId = "nope" },
		"bad game id":        func(r *entCreate) { r.GameId = "" },
		"empty name":         func(r *entCreate) { r.Name = "" },
		"long name":          func(r *entCreate) { r.Name = strings.Repeat("n", 101) },
		"empty type":         func(r *entCreate) { r.Type = "" },
		"long type":          func(r *entCreate) { r.Type = strings.Repeat("t", 65) },
		"65 attributes":      func(r *entCreate) { r.Attributes = many },
		"empty key":          func(r *entCreate) { r.Attributes = entAttrs{"": aInt(1)} },
		"long key":           func(r *entCreate) { r.Attributes = entAttrs{strings.Repeat("k", 65): aInt(1)} },
		"long string value":  func(r *entCreate) { r.Attributes = entAttrs{"k": aStr(strings.Repeat("v", 1025))} },
		"value not set":      func(r *entCreate) { r.Attributes = entAttrs{"k": {}} },
		"unknown controller": func(r *entCreate) { r.Controller = 7 },
		"long player id":     func(r *entCreate) { r.PlayerId = ptr(strings.Repeat("p", 65)) },
		"data not json":      func(r *entCreate) { r.Data = ptr("{nope") },
		"data over 64 KiB":   func(r *entCreate) { r.Data = ptr(`"` + strings.Repeat("d", 64<<10) + `"`) },
	}
	before := entityCounts(t, ctx)
	for name, mutate := range creates {
		t.Run("create "+name, func(t *testing.T) {
			req := &entCreate{Name: "x", Type: "y", SessionId: w.session.GetId(), GameId: w.game.GetId()}
			mutate(req)
			_, err := games().CreateEntity(w.host.ctx(ctx), req)
			assertBodyDetail(t, wantCode(t, err, codes.InvalidArgument), codes.InvalidArgument)
		})
	}
	sid, gid := w.session.GetId(), w.game.GetId()
	updates := map[string]*gamepb.EntityUpdateRequest{
		"bad id":            {Id: "x", SessionId: sid, GameId: gid},
		"bad session id":    {Id: e.GetId(), SessionId: "x", GameId: gid},
		"bad game id":       {Id: e.GetId(), SessionId: sid, GameId: "x"},
		"65 values":         {Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: values},
		"long string value": {Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*entA{aInt(1), aStr(strings.Repeat("v", 1025))}},
		"fewer values":      {Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*entA{aInt(2)}},
		"more values":       {Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*entA{aInt(2), aInt(3), aInt(4)}},
	}
	for name, req := range updates {
		t.Run("update "+name, func(t *testing.T) {
			wantCode(t, entErr(games().UpdateEntity(w.host.ctx(ctx), req)), codes.InvalidArgument)
		})
	}
	del := &gamepb.EntityDeleteRequest{Id: e.GetId(), SessionId: sid, GameId: "x"}
	wantCode(t, entErr(games().DeleteEntity(w.host.ctx(ctx), del)), codes.InvalidArgument)
	_, err := games().GetEntity(w.host.ctx(ctx), &gamepb.EntityGetRequest{Id: "x", SessionId: sid, GameId: gid})
	assertBodyDetail(t, wantCode(t, err, codes.InvalidArgument), codes.InvalidArgument)
	_, err = games().UpdateEntity(metadata.AppendToOutgoingContext(w.host.ctx(ctx), "x-oof-expected-version", "one"),
		&gamepb.EntityUpdateRequest{Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*entA{aInt(5), aInt(6)}})
	wantCode(t, err, codes.InvalidArgument)

	if after := entityCounts(t, ctx); after != before {
		t.Fatalf("rejected requests changed entities: (aggregates, rows) %v -> %v", before, after)
	}
	w.wantEntity(t, ctx, w.host, e, "1")
}

func TestEntityAuthorization(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	e := w.newEntity(t, ctx, entAttrs{"a": aInt(1)})
	outsider := signInAs(t, ctx, "player")
	before := entityCounts(t, ctx)
	wantCode(t, w.create(ctx, outsider), codes.PermissionDenied)
	wantCode(t, entErr(w.update(outsider.ctx(ctx), e.GetId(), aInt(2))), codes.PermissionDenied)
	wantCode(t, w.remove(outsider.ctx(ctx), e.GetId()), codes.PermissionDenied)
	if after := entityCounts(t, ctx); after != before {
		t.Fatalf("denied requests changed entities: (aggregates, rows) %v -> %v", before, after)
	}
	w.wantEntity(t, ctx, outsider, e, "1")
	// The game's owner may change any session's entities.
	wantCode(t, entErr(w.update(w.dev.ctx(ctx), e.GetId(), aInt(3))), codes.OK)
	// Addressing the entity through another session or game finds nothing,
	// even for the host of that other session.
	other := w
	other.session, _ = newSession(t, ctx, outsider, w.game.GetId(), outsider.id)
	wantCode(t, entErr(other.update(outsider.ctx(ctx), e.GetId(), aInt(4))), codes.NotFound)
	_, _, err := other.get(ctx, outsider, e.GetId())
	wantCode(t, err, codes.NotFound)
	other.session, other.game = w.session, newGame(t, ctx, w.dev, &gamepb.GameCreateRequest{})
	wantCode(t, entErr(other.update(w.dev.ctx(ctx), e.GetId(), aInt(4))), codes.NotFound)
	anonymous := &gamepb.EntityGetRequest{Id: e.GetId(), SessionId: w.session.GetId(), GameId: w.game.GetId()}
	wantCode(t, entErr(games().GetEntity(ctx, anonymous)), codes.Unauthenticated)
}

func TestEntityInEndedSession(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	finished := w.newEntity(t, ctx, entAttrs{"a": aInt(1)})
	deleted := newEntWorld(t, ctx)
	gone := deleted.newEntity(t, ctx, entAttrs{"a": aInt(1)})
	finish := &gamepb.SessionUpdate{Id: w.session.GetId(), GameId: w.game.GetId(), State: gamepb.GameState_STATE_FINISHED}
	wantCode(t, entErr(games().UpdateSession(w.host.ctx(ctx), finish)), codes.OK)
	del := &gamepb.SessionDelete{Id: deleted.session.GetId(), GameId: deleted.game.GetId()}
	wantCode(t, entErr(games().DeleteSession(deleted.host.ctx(ctx), del)), codes.OK)
	for _, c := range []struct {
		w entWorld
		e *gamepb.Entity
	}{{w, finished}, {deleted, gone}} {
		wantCode(t, c.w.create(ctx, c.w.host), codes.FailedPrecondition)
		wantCode(t, entErr(c.w.update(c.w.host.ctx(ctx), c.e.GetId(), aInt(2))), codes.FailedPrecondition)
		wantCode(t, c.w.remove(c.w.host.ctx(ctx), c.e.GetId()), codes.FailedPrecondition)
		c.w.wantEntity(t, ctx, c.w.host, c.e, "1") // still readable
	}
}

func TestEntityConcurrentUpdates(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	e := w.newEntity(t, ctx, entAttrs{"n": aInt(0)})
	const n = 8
	race := func(base int32, header ...string) (winners []int32) {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			c := metadata.AppendToOutgoingContext(w.host.ctx(ctx), header...)
			wg.Go(func() { _, errs[i] = w.update(c, e.GetId(), aInt(base+int32(i))) })
		}
		wg.Wait()
		for i, err := range errs {
			if codeOf(err) == codes.OK {
				winners = append(winners, base+int32(i))
			} else if codeOf(err) != codes.Aborted {
				t.Errorf("concurrent update: %v", err)
			}
		}
		return winners
	}
	winners := race(1)
	got, v, err := w.get(ctx, w.host, e.GetId())
	if err != nil || len(winners) == 0 || v != strconv.Itoa(1+len(winners)) || !slices.Contains(winners, got.GetAttributes()["n"].GetIntValue()) {
		t.Fatalf("after racing updates: %v (version %q), %v; OK updates %v", got, v, err, winners)
	}
	// With the expected version, exactly one of the racers wins.
	n0 := len(winners)
	winners = race(100, "x-oof-expected-version", v)
	got, v2, err := w.get(ctx, w.host, e.GetId())
	if err != nil || len(winners) != 1 || got.GetAttributes()["n"].GetIntValue() != winners[0] || v2 != strconv.Itoa(2+n0) {
		t.Fatalf("expected-version race: %v (version %q), %v; OK updates %v", got, v2, err, winners)
	}
}
