package integration

import (
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// Racing updates of one session never lose a change silently: every update
// either lands or fails ABORTED (so the client retries), and every one that
// landed is visible in the final state.
func TestSessionUpdatesUseOptimisticConcurrency(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	s, version := newSession(t, ctx, dev, g.GetId())
	if version != "1" {
		t.Fatalf("x-oof-version after create = %q, want 1", version)
	}

	t.Run("stale expected version", func(t *testing.T) {
		if _, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), Data: ptr(`{"v":2}`)}); err != nil {
			t.Fatal(err)
		}
		stale := metadata.AppendToOutgoingContext(dev.ctx(ctx), "x-oof-expected-version", "1")
		_, err := games().UpdateSession(stale, &gamepb.SessionUpdate{Id: s.GetId(), Data: ptr(`{"v":"lost"}`)})
		wantCode(t, err, codes.Aborted)
		if got := getSession(t, ctx, dev, s.GetId()); got.GetData() != `{"v":2}` {
			t.Fatalf("an aborted update changed data to %s", got.GetData())
		}
		fresh := metadata.AppendToOutgoingContext(dev.ctx(ctx), "x-oof-expected-version", "2")
		if _, err := games().UpdateSession(fresh, &gamepb.SessionUpdate{Id: s.GetId(), Data: ptr(`{"v":3}`)}); err != nil {
			t.Fatalf("update with the current version: %v", err)
		}
	})

	t.Run("a stranger with a stale version is denied, not aborted", func(t *testing.T) {
		stranger := signInAs(t, ctx, "player")
		c := metadata.AppendToOutgoingContext(stranger.ctx(ctx), "x-oof-expected-version", "1")
		_, err := games().UpdateSession(c, &gamepb.SessionUpdate{Id: s.GetId(), Data: ptr(`{"v":"x"}`)})
		wantCode(t, err, codes.PermissionDenied)
	})

	t.Run("racing writers", func(t *testing.T) {
		const writers = 8
		landed := make([]bool, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := string(rune('a' + i))
				// Everyone claims to have seen version 3: at most one can be right.
				c := metadata.AppendToOutgoingContext(dev.ctx(ctx), "x-oof-expected-version", "3")
				_, err := games().UpdateSession(c, &gamepb.SessionUpdate{Id: s.GetId(),
					Attributes: map[string]*gamepb.GameAttribute{key: {Value: &gamepb.GameAttribute_BoolValue{BoolValue: true}}}})
				switch codeOf(err) {
				case codes.OK:
					landed[i] = true
				case codes.Aborted:
				default:
					t.Errorf("writer %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		final := getSession(t, ctx, dev, s.GetId())
		wins := 0
		for i, ok := range landed {
			_, present := final.GetAttributes()[string(rune('a'+i))]
			if ok != present {
				t.Fatalf("writer %d landed=%v but its attribute present=%v", i, ok, present)
			}
			if ok {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("%d writers won with the same expected version, want exactly 1", wins)
		}
	})

	t.Run("games honour the expected version too", func(t *testing.T) {
		var md metadata.MD
		if _, err := games().UpdateGame(dev.ctx(ctx), &gamepb.GameUpdateRequest{Id: g.GetId(), Description: "v2"}, grpc.Header(&md)); err != nil {
			t.Fatal(err)
		}
		if first(md.Get("x-oof-version")) != "2" {
			t.Fatalf("x-oof-version after the first update = %v, want 2", md.Get("x-oof-version"))
		}
		stale := metadata.AppendToOutgoingContext(dev.ctx(ctx), "x-oof-expected-version", "1")
		_, err := games().UpdateGame(stale, &gamepb.GameUpdateRequest{Id: g.GetId(), Description: "lost"})
		wantCode(t, err, codes.Aborted)
		got, _ := games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: ptr(g.GetId())})
		if got.GetGame().GetDescription() != "v2" {
			t.Fatalf("an aborted game update changed it: %q", got.GetGame().GetDescription())
		}
	})

	t.Run("racing without expected version keeps every change", func(t *testing.T) {
		const writers = 6
		var wg sync.WaitGroup
		landed := make([]bool, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := "k" + string(rune('a'+i))
				for attempt := 0; attempt < 20; attempt++ {
					_, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(),
						Attributes: map[string]*gamepb.GameAttribute{key: {Value: &gamepb.GameAttribute_IntValue{IntValue: int32(i)}}}})
					if err == nil {
						landed[i] = true
						return
					}
					if codeOf(err) != codes.Aborted {
						t.Errorf("writer %d: %v", i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		final := getSession(t, ctx, dev, s.GetId())
		for i, ok := range landed {
			if v, present := final.GetAttributes()["k"+string(rune('a'+i))]; ok != present || (ok && v.GetIntValue() != int32(i)) {
				t.Fatalf("writer %d landed=%v, attribute %v", i, ok, v)
			}
		}
	})
}
