package integration

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

func TestGameCreateGetUpdate(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	resp, err := games().CreateGame(dev.ctx(ctx), &gamepb.GameCreateRequest{
		Name: "Pong", Description: "Two paddles", Data: ptr(`{"theme":"retro"}`), MaxSessions: ptr("5"), MaxPlayersPerSession: ptr("2"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCode() != 0 || resp.GetMessage() != "OK" || resp.GetError() != nil {
		t.Fatalf("body does not mirror success: %+v", resp)
	}
	g := resp.GetSingleGame()
	if g.GetId() == "" || g.GetMaxSessions() != "5" || g.GetMaxPlayersPerSession() != "2" || g.GetData() != `{"theme":"retro"}` {
		t.Fatalf("created game: %+v", g)
	}
	// Read-your-writes: the query side has it as soon as Create returns.
	got, err := games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: ptr(g.GetId())})
	if err != nil || !proto.Equal(got.GetGame(), g) {
		t.Fatalf("get after create: %+v, %v", got, err)
	}
	up, err := games().UpdateGame(dev.ctx(ctx), &gamepb.GameUpdateRequest{Id: g.GetId(), Name: "Pong 2", MaxSessions: ptr("7")})
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(g).(*gamepb.Game)
	want.Name, want.MaxSessions = "Pong 2", "7"
	if !proto.Equal(up.GetSingleGame(), want) {
		t.Fatalf("update result %+v, want %+v", up.GetSingleGame(), want)
	}
	got, err = games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: ptr(g.GetId())})
	if err != nil || !proto.Equal(got.GetGame(), want) {
		t.Fatalf("get after update: %+v, %v", got, err)
	}
	_, err = games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: ptr("0190f0f0-0000-7000-8000-000000000000")})
	st := wantCode(t, err, codes.NotFound)
	assertBodyDetail(t, st, codes.NotFound)
}

// assertBodyDetail checks that a failure status carries the response body
// with the same code, for clients that read bodies.
func assertBodyDetail(t *testing.T, st *status.Status, code codes.Code) {
	t.Helper()
	for _, d := range st.Details() {
		switch b := d.(type) {
		case *gamepb.StandardResponse:
			if b.GetCode() == int32(code) && b.GetError().GetCode() == int32(code) && b.GetMessage() != "" {
				return
			}
		case *gamepb.PaginatedResponse:
			if b.GetCode() == int32(code) && b.GetError().GetCode() == int32(code) && b.GetMessage() != "" {
				return
			}
		}
	}
	t.Fatalf("status %v has no response body detail with code %d: %v", st.Code(), code, st.Details())
}

func TestGameRejectsBadInput(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	creates := map[string]*gamepb.GameCreateRequest{
		"empty name":            {Name: ""},
		"long name":             {Name: string(make([]byte, 101))},
		"zero max sessions":     {Name: "x", MaxSessions: ptr("0")},
		"negative max sessions": {Name: "x", MaxSessions: ptr("-1")},
		"text max players":      {Name: "x", MaxPlayersPerSession: ptr("four")},
		"padded max players":    {Name: "x", MaxPlayersPerSession: ptr("08")},
		"huge max players":      {Name: "x", MaxPlayersPerSession: ptr("99999999999")},
		"data not json":         {Name: "x", Data: ptr("{nope")},
	}
	before := countAggregates(t, ctx, "game")
	for name, req := range creates {
		t.Run("create "+name, func(t *testing.T) {
			_, err := games().CreateGame(dev.ctx(ctx), req)
			st := wantCode(t, err, codes.InvalidArgument)
			assertBodyDetail(t, st, codes.InvalidArgument)
		})
	}
	updates := map[string]*gamepb.GameUpdateRequest{
		"bad id":         {Id: "nope", Name: "x"},
		"bad max":        {Id: g.GetId(), MaxSessions: ptr("1.5")},
		"bad data":       {Id: g.GetId(), Data: ptr("[")},
		"long long name": {Id: g.GetId(), Name: string(make([]rune, 101))},
	}
	for name, req := range updates {
		t.Run("update "+name, func(t *testing.T) {
			_, err := games().UpdateGame(dev.ctx(ctx), req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	if after := countAggregates(t, ctx, "game"); after != before {
		t.Fatalf("rejected requests created games: %d -> %d", before, after)
	}
	got, _ := games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: ptr(g.GetId())})
	if !proto.Equal(got.GetGame(), g) {
		t.Fatal("rejected updates changed the game")
	}
	_, err := games().UpdateGame(dev.ctx(ctx), &gamepb.GameUpdateRequest{Id: "0190f0f0-0000-7000-8000-000000000000", Name: "x"})
	wantCode(t, err, codes.NotFound)
}

func TestGamePagination(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	for range 5 {
		newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	}
	existing := map[string]bool{}
	rows, err := env.Pool.Query(ctx, `SELECT id::text FROM games`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		existing[id] = true
	}
	rows.Close()

	seen := map[string]int{}
	var cursor *string
	for page := 0; ; page++ {
		resp, err := games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Limit: ptr(int32(2)), Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		list := resp.GetGames().GetGames()
		if len(list) > 2 || resp.GetPagination().GetPageSize() != int32(len(list)) {
			t.Fatalf("page %d: %d games, page_size %d", page, len(list), resp.GetPagination().GetPageSize())
		}
		for _, g := range list {
			seen[g.GetId()]++
		}
		// New games appear between pages; paging must still neither skip
		// nor repeat anything.
		newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
		if resp.GetPagination().NextPageToken == nil {
			break
		}
		cursor = resp.GetPagination().NextPageToken
		if page > 1000 {
			t.Fatal("pagination does not end")
		}
	}
	for id := range existing {
		if seen[id] != 1 {
			t.Fatalf("game %s seen %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("game %s repeated %d times", id, n)
		}
	}
	for name, req := range map[string]*gamepb.GameGetRequest{
		"forged cursor": {Cursor: ptr("bm90LWEtY3Vyc29y")},
		"limit 101":     {Limit: ptr(int32(101))},
		"negative":      {Limit: ptr(int32(-1))},
		"bad id":        {Id: ptr("x")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := games().GetGame(dev.ctx(ctx), req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
}
