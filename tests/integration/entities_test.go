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
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	w.session = resp.GetSession()
	return w
}

func (w entWorld) newEntity(t *testing.T, ctx context.Context, attrs attrs) *gamepb.Entity {
	t.Helper()
	resp, err := games().CreateEntity(w.host.ctx(ctx), &gamepb.EntityCreateRequest{Name: "crate", Type: "prop",
		SessionId: w.session.GetId(), GameId: w.game.GetId(), Attributes: attrs})
	if err != nil {
		t.Fatalf("create entity: %v", err)
	}
	return resp.GetEntity()
}

func (w entWorld) get(ctx context.Context, a actor, id string) (*gamepb.Entity, string, error) {
	var md metadata.MD
	resp, err := games().GetEntity(a.ctx(ctx), &gamepb.EntityGetRequest{Id: id, SessionId: w.session.GetId(), GameId: w.game.GetId()}, grpc.Header(&md))
	return resp.GetEntity(), first(md.Get("x-oof-version")), err
}

func (w entWorld) update(ctx context.Context, a actor, id string, values ...*gamepb.EntityAttribute) (*gamepb.StandardResponse, error) {
	return games().UpdateEntity(a.ctx(ctx), &gamepb.EntityUpdateRequest{Id: id, SessionId: w.session.GetId(), GameId: w.game.GetId(), Attributes: values})
}

func (w entWorld) remove(ctx context.Context, a actor, id string) error {
	_, err := games().DeleteEntity(a.ctx(ctx), &gamepb.EntityDeleteRequest{Id: id, SessionId: w.session.GetId(), GameId: w.game.GetId()})
	return err
}

// Short names keep the tables below one line per case.
type (
	ea    = gamepb.EntityAttribute
	attrs = map[string]*ea
	cr    = gamepb.EntityCreateRequest
)

func sv(s string) *ea  { return &ea{Value: &gamepb.EntityAttribute_StringValue{StringValue: s}} }
func iv(i int32) *ea   { return &ea{Value: &gamepb.EntityAttribute_IntValue{IntValue: i}} }
func fv(f float32) *ea { return &ea{Value: &gamepb.EntityAttribute_FloatValue{FloatValue: f}} }
func bv(b bool) *ea    { return &ea{Value: &gamepb.EntityAttribute_BoolValue{BoolValue: b}} }

// eventually polls cond: the Redis copy is written after the projector's
// commit, which a command does not wait for (reads never depend on it).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// entityCounts counts entities in the write model and in the read model.
func entityCounts(t *testing.T, ctx context.Context) [2]int {
	return [2]int{countAggregates(t, ctx, "entity"), countRows(t, ctx, `SELECT count(*) FROM entities`)}
}

func (w entWorld) redisKey(id string) string {
	return env.Cfg.RedisKeyPrefix + "entity:{" + w.session.GetId() + "}:" + id
}

func TestEntityLifecycle(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	req := &gamepb.EntityCreateRequest{Name: "Goblin ☠", Type: "npc", SessionId: w.session.GetId(), GameId: w.game.GetId(),
		Attributes: attrs{"hp": iv(-7), "name": sv("Grünt é"), "speed": fv(1.5), "boss": bv(false)},
		Controller: gamepb.EntityCreateRequest_PLAYER, PlayerId: ptr(w.host.id), Data: ptr(`{"loot":[1,2.5,{"x":"é"}],"n":null}`)}
	var md metadata.MD
	resp, err := games().CreateEntity(w.host.ctx(ctx), req, grpc.Header(&md))
	if err != nil {
		t.Fatal(err)
	}
	want := &gamepb.Entity{Id: resp.GetEntity().GetId(), Name: req.Name, Type: req.Type, SessionId: req.SessionId, GameId: req.GameId,
		Attributes: req.Attributes, Controller: gamepb.Entity_PLAYER, PlayerId: req.PlayerId, Data: req.Data}
	if id, err := uuid.Parse(want.Id); err != nil || id.Version() != 7 || !proto.Equal(resp.GetEntity(), want) || first(md.Get("x-oof-version")) != "1" {
		t.Fatalf("created %v (version %v), want %v", resp.GetEntity(), md.Get("x-oof-version"), want)
	}
	if got, v, err := w.get(ctx, w.host, want.Id); err != nil || !proto.Equal(got, want) || v != "1" {
		t.Fatalf("get after create: %v (version %q), %v", got, v, err)
	}

	// Keys in ascending order: boss, hp, name, speed. Unset elements keep values.
	up, err := w.update(ctx, w.host, want.Id, bv(true), iv(3), &ea{}, &ea{})
	if err != nil {
		t.Fatal(err)
	}
	want.Attributes = attrs{"hp": iv(3), "name": sv("Grünt é"), "speed": fv(1.5), "boss": bv(true)}
	if !proto.Equal(up.GetEntity(), want) {
		t.Fatalf("update result %v, want %v", up.GetEntity(), want)
	}
	if got, v, err := w.get(ctx, w.host, want.Id); err != nil || !proto.Equal(got, want) || v != "2" {
		t.Fatalf("get after update: %v (version %q), %v", got, v, err)
	}
	eventually(t, "the live copy at version 2", func() bool {
		vals, err := env.Redis.HMGet(ctx, w.redisKey(want.Id), "v", "s").Result()
		got := &gamepb.Entity{}
		s, _ := vals[1].(string)
		return err == nil && vals[0] == "2" && proto.Unmarshal([]byte(s), got) == nil && proto.Equal(got, want)
	})

	if err := w.remove(ctx, w.host, want.Id); err != nil {
		t.Fatal(err)
	}
	_, _, err = w.get(ctx, w.host, want.Id)
	wantCode(t, err, codes.NotFound)
	_, err = w.update(ctx, w.host, want.Id)
	wantCode(t, err, codes.NotFound)
	wantCode(t, w.remove(ctx, w.host, want.Id), codes.NotFound)
	eventually(t, "the live copy to be removed", func() bool { return env.Redis.Exists(ctx, w.redisKey(want.Id)).Val() == 0 })
	if n := countRows(t, ctx, `SELECT count(*) FROM entities WHERE id = $1 AND deleted AND version = 3`, want.Id); n != 1 {
		t.Fatal("entities row is not marked deleted at version 3")
	}
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
	e := w.newEntity(t, ctx, attrs{"a": iv(1), "b": sv("x")})
	many, values := attrs{}, []*ea{}
	for i := range 65 {
		many[strconv.Itoa(i)], values = iv(1), append(values, iv(1))
	}
	creates := map[string]func(r *cr){
		"bad session id":     func(r *cr) { r.SessionId = "nope" },
		"bad game id":        func(r *cr) { r.GameId = "" },
		"empty name":         func(r *cr) { r.Name = "" },
		"long name":          func(r *cr) { r.Name = strings.Repeat("n", 101) },
		"empty type":         func(r *cr) { r.Type = "" },
		"long type":          func(r *cr) { r.Type = strings.Repeat("t", 65) },
		"65 attributes":      func(r *cr) { r.Attributes = many },
		"empty key":          func(r *cr) { r.Attributes = attrs{"": iv(1)} },
		"long key":           func(r *cr) { r.Attributes = attrs{strings.Repeat("k", 65): iv(1)} },
		"long string value":  func(r *cr) { r.Attributes = attrs{"k": sv(strings.Repeat("v", 1025))} },
		"value not set":      func(r *cr) { r.Attributes = attrs{"k": {}} },
		"unknown controller": func(r *cr) { r.Controller = 7 },
		"long player id":     func(r *cr) { r.PlayerId = ptr(strings.Repeat("p", 65)) },
		"data not json":      func(r *cr) { r.Data = ptr("{nope") },
		"data over 64 KiB":   func(r *cr) { r.Data = ptr(`"` + strings.Repeat("d", 64<<10) + `"`) },
	}
	before := entityCounts(t, ctx)
	for name, mutate := range creates {
		t.Run("create "+name, func(t *testing.T) {
			req := &gamepb.EntityCreateRequest{Name: "x", Type: "y", SessionId: w.session.GetId(), GameId: w.game.GetId()}
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
		"long string value": {Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*ea{iv(1), sv(strings.Repeat("v", 1025))}},
		"fewer values":      {Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*ea{iv(2)}},
		"more values":       {Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*ea{iv(2), iv(3), iv(4)}},
	}
	for name, req := range updates {
		t.Run("update "+name, func(t *testing.T) {
			_, err := games().UpdateEntity(w.host.ctx(ctx), req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	_, err := games().DeleteEntity(w.host.ctx(ctx), &gamepb.EntityDeleteRequest{Id: e.GetId(), SessionId: sid, GameId: "x"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = games().GetEntity(w.host.ctx(ctx), &gamepb.EntityGetRequest{Id: "x", SessionId: sid, GameId: gid})
	assertBodyDetail(t, wantCode(t, err, codes.InvalidArgument), codes.InvalidArgument)
	_, err = games().UpdateEntity(metadata.AppendToOutgoingContext(w.host.ctx(ctx), "x-oof-expected-version", "one"),
		&gamepb.EntityUpdateRequest{Id: e.GetId(), SessionId: sid, GameId: gid, Attributes: []*ea{iv(5), iv(6)}})
	wantCode(t, err, codes.InvalidArgument)

	if after := entityCounts(t, ctx); after != before {
		t.Fatalf("rejected requests changed entities: (aggregates, rows) %v -> %v", before, after)
	}
	if got, v, err := w.get(ctx, w.host, e.GetId()); err != nil || !proto.Equal(got, e) || v != "1" {
		t.Fatalf("rejected updates changed the entity: %v (version %q), %v", got, v, err)
	}
}

func TestEntityAuthorization(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	e := w.newEntity(t, ctx, attrs{"a": iv(1)})
	outsider := signInAs(t, ctx, "player")
	before := entityCounts(t, ctx)
	_, err := games().CreateEntity(outsider.ctx(ctx), &gamepb.EntityCreateRequest{Name: "x", Type: "y", SessionId: w.session.GetId(), GameId: w.game.GetId()})
	wantCode(t, err, codes.PermissionDenied)
	_, err = w.update(ctx, outsider, e.GetId(), iv(2))
	wantCode(t, err, codes.PermissionDenied)
	wantCode(t, w.remove(ctx, outsider, e.GetId()), codes.PermissionDenied)
	if after := entityCounts(t, ctx); after != before {
		t.Fatalf("denied requests changed entities: (aggregates, rows) %v -> %v", before, after)
	}
	if got, v, err := w.get(ctx, outsider, e.GetId()); err != nil || !proto.Equal(got, e) || v != "1" {
		t.Fatalf("denied update changed the entity: %v (version %q), %v", got, v, err)
	}
	// The game's owner may change any session's entities.
	if _, err := w.update(ctx, w.dev, e.GetId(), iv(3)); err != nil {
		t.Fatalf("game owner update: %v", err)
	}
	// Addressing the entity through another session or game finds nothing,
	// even for the host of that other session.
	other := w
	other.host = outsider
	other.session, _ = newSession(t, ctx, outsider, w.game.GetId(), outsider.id)
	_, err = other.update(ctx, outsider, e.GetId(), iv(4))
	wantCode(t, err, codes.NotFound)
	_, _, err = other.get(ctx, outsider, e.GetId())
	wantCode(t, err, codes.NotFound)
	other.session, other.game = w.session, newGame(t, ctx, w.dev, &gamepb.GameCreateRequest{})
	_, err = other.update(ctx, w.dev, e.GetId(), iv(4))
	wantCode(t, err, codes.NotFound)
	_, err = games().GetEntity(ctx, &gamepb.EntityGetRequest{Id: e.GetId(), SessionId: w.session.GetId(), GameId: w.game.GetId()})
	wantCode(t, err, codes.Unauthenticated)
}

func TestEntityInEndedSession(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	finished := w.newEntity(t, ctx, attrs{"a": iv(1)})
	deleted := newEntWorld(t, ctx)
	gone := deleted.newEntity(t, ctx, attrs{"a": iv(1)})
	if _, err := games().UpdateSession(w.host.ctx(ctx), &gamepb.SessionUpdate{Id: w.session.GetId(), GameId: w.game.GetId(), State: gamepb.GameState_STATE_FINISHED}); err != nil {
		t.Fatal(err)
	}
	if _, err := games().DeleteSession(deleted.host.ctx(ctx), &gamepb.SessionDelete{Id: deleted.session.GetId(), GameId: deleted.game.GetId()}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		w entWorld
		e *gamepb.Entity
	}{"finished": {w, finished}, "deleted": {deleted, gone}} {
		_, err := games().CreateEntity(c.w.host.ctx(ctx), &gamepb.EntityCreateRequest{Name: "x", Type: "y", SessionId: c.w.session.GetId(), GameId: c.w.game.GetId()})
		wantCode(t, err, codes.FailedPrecondition)
		_, err = c.w.update(ctx, c.w.host, c.e.GetId(), iv(2))
		wantCode(t, err, codes.FailedPrecondition)
		wantCode(t, c.w.remove(ctx, c.w.host, c.e.GetId()), codes.FailedPrecondition)
		if got, v, err := c.w.get(ctx, c.w.host, c.e.GetId()); err != nil || !proto.Equal(got, c.e) || v != "1" {
			t.Fatalf("%s session: entity %v (version %q), %v", name, got, v, err)
		}
	}
}

func TestEntityConcurrentUpdates(t *testing.T) {
	ctx := testCtx(t)
	w := newEntWorld(t, ctx)
	e := w.newEntity(t, ctx, attrs{"n": iv(0)})
	const n = 8
	race := func(expected string, base int32) (winners []int32) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range int32(n) {
			wg.Go(func() {
				c := w.host.ctx(ctx)
				if expected != "" {
					c = metadata.AppendToOutgoingContext(c, "x-oof-expected-version", expected)
				}
				_, err := games().UpdateEntity(c, &gamepb.EntityUpdateRequest{Id: e.GetId(), SessionId: w.session.GetId(), GameId: w.game.GetId(),
					Attributes: []*ea{iv(base + i)}})
				mu.Lock()
				defer mu.Unlock()
				switch codeOf(err) {
				case codes.OK:
					winners = append(winners, base+i)
				case codes.Aborted:
				default:
					t.Errorf("concurrent update: %v", err)
				}
			})
		}
		wg.Wait()
		return winners
	}
	winners := race("", 1)
	got, v, err := w.get(ctx, w.host, e.GetId())
	if err != nil || len(winners) == 0 || v != strconv.Itoa(1+len(winners)) || !slices.Contains(winners, got.GetAttributes()["n"].GetIntValue()) {
		t.Fatalf("after racing updates: %v (version %q), %v; OK updates %v", got, v, err, winners)
	}
	// With the expected version, exactly one of the racers wins.
	n0 := len(winners)
	winners = race(v, 100)
	got, v2, err := w.get(ctx, w.host, e.GetId())
	if err != nil || len(winners) != 1 || got.GetAttributes()["n"].GetIntValue() != winners[0] || v2 != strconv.Itoa(2+n0) {
		t.Fatalf("expected-version race: %v (version %q), %v; OK updates %v", got, v2, err, winners)
	}
}
