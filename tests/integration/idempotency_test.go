package integration

import (
	"context"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	playerpb "github.com/oof-gg/platform/api/gen/v1/api/player"
	"github.com/oof-gg/platform/pkg/idempotency"
)

func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, idempotency.Header, key)
}

// A retry with the same key returns the first outcome and creates nothing
// more, for every create command.
func TestCreatesAreIdempotent(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	game := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	sess, _ := newSession(t, ctx, dev, game.GetId())
	gameName, botName := "once "+uniqueName("g"), uniqueName("bot")

	cases := []struct {
		name   string
		kind   string
		create func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error)
	}{
		{"CreateGame", "game", func(ctx context.Context, o ...grpc.CallOption) (proto.Message, error) {
			r, err := games().CreateGame(ctx, &gamepb.GameCreateRequest{Name: gameName}, o...)
			return r.GetSingleGame(), err
		}},
		{"CreateSession", "session", func(ctx context.Context, o ...grpc.CallOption) (proto.Message, error) {
			r, err := games().CreateSession(ctx, &gamepb.SessionCreate{GameId: game.GetId()}, o...)
			return r.GetSession(), err
		}},
		{"CreateEntity", "entity", func(ctx context.Context, o ...grpc.CallOption) (proto.Message, error) {
			r, err := games().CreateEntity(ctx, &gamepb.EntityCreateRequest{Name: "crate", Type: "prop",
				SessionId: sess.GetId(), GameId: game.GetId()}, o...)
			return r.GetEntity(), err
		}},
		{"CreatePlayer", "player", func(ctx context.Context, o ...grpc.CallOption) (proto.Message, error) {
			r, err := players().CreatePlayer(ctx, &playerpb.Player{Type: playerpb.PlayerType_AI, Username: botName}, o...)
			return r.GetSinglePlayer(), err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := countAggregates(t, ctx, tc.kind)
			key := "k-" + uniqueName(tc.name)
			var md1, md2 metadata.MD
			first, err := tc.create(withKey(dev.ctx(ctx), key), grpc.Header(&md1))
			if err != nil {
				t.Fatalf("first: %v", err)
			}
			again, err := tc.create(withKey(dev.ctx(ctx), key), grpc.Header(&md2))
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if !proto.Equal(first, again) {
				t.Fatalf("retry answered %v, want the first outcome %v", again, first)
			}
			if got := md2.Get(idempotency.ReplayHeader); len(got) != 1 || got[0] != "true" {
				t.Fatalf("retry lacks %s: %v", idempotency.ReplayHeader, md2)
			}
			if len(md1.Get(idempotency.ReplayHeader)) != 0 {
				t.Fatal("first answer claims to be a replay")
			}
			if got := countAggregates(t, ctx, tc.kind) - before; got != 1 {
				t.Fatalf("%d %s aggregates created, want 1", got, tc.kind)
			}
			// Without a key, the same request creates another one.
			if _, err := tc.create(dev.ctx(ctx)); err != nil {
				t.Fatal(err)
			}
			if got := countAggregates(t, ctx, tc.kind) - before; got != 2 {
				t.Fatalf("%d %s aggregates after a keyless create, want 2", got, tc.kind)
			}
		})
	}
}

func TestIdempotencyKeyRules(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	other := signInAs(t, ctx, "developer")
	key := "k-" + uniqueName("rules")
	create := func(a actor, name, key string) (*gamepb.Game, error) {
		r, err := games().CreateGame(withKey(a.ctx(ctx), key), &gamepb.GameCreateRequest{Name: name})
		return r.GetSingleGame(), err
	}
	g1, err := create(dev, "rules one", key)
	if err != nil {
		t.Fatal(err)
	}
	before := countAggregates(t, ctx, "game")
	// The same key with another request is refused and changes nothing.
	_, err = create(dev, "rules two", key)
	st := wantCode(t, err, codes.InvalidArgument)
	if st.Message() == "" {
		t.Fatal("no message")
	}
	if countAggregates(t, ctx, "game") != before {
		t.Fatal("a refused reuse created a game")
	}
	// Keys are per caller: another user's same key is a new request.
	g2, err := create(other, "rules one", key)
	if err != nil {
		t.Fatal(err)
	}
	if g2.GetId() == g1.GetId() {
		t.Fatal("another caller got the first caller's outcome")
	}
	for _, bad := range []string{"has space", strings.Repeat("k", idempotency.MaxKeyLen+1)} {
		_, err := create(dev, "bad key", bad)
		wantCode(t, err, codes.InvalidArgument)
	}
}

// Concurrent retries with one key create one object and all see it.
func TestIdempotentCreateUnderConcurrency(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	game := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	before := countAggregates(t, ctx, "session")
	key := "k-" + uniqueName("race")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := games().CreateSession(withKey(dev.ctx(ctx), key), &gamepb.SessionCreate{GameId: game.GetId()})
			ids[i], errs[i] = r.GetSession().GetId(), err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("call %d got session %s, call 0 got %s", i, ids[i], ids[0])
		}
	}
	if got := countAggregates(t, ctx, "session") - before; got != 1 {
		t.Fatalf("%d sessions created, want 1", got)
	}
}

// A twin that loses the race on something other than the key (a human
// player's id is its user's, so the second insert collides on the id)
// still gets the first outcome, not that collision.
func TestIdempotentTwinsThatCollideGetTheFirstOutcome(t *testing.T) {
	ctx := testCtx(t)
	u := signInAs(t, ctx, "player")
	key := "k-" + uniqueName("twin")
	const n = 6
	got := make([]*playerpb.Player, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := players().CreatePlayer(withKey(u.ctx(ctx), key), &playerpb.Player{Type: playerpb.PlayerType_HUMAN})
			got[i], errs[i] = r.GetSinglePlayer(), err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("twin %d: %v", i, errs[i])
		}
		if !proto.Equal(got[i], got[0]) {
			t.Fatalf("twin %d got %v, twin 0 got %v", i, got[i], got[0])
		}
	}
}
