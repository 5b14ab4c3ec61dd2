package integration

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
)

func TestSessionLifecycleWritesMatchHistory(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	host := signInAs(t, ctx, "player")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	attrs := map[string]*gamepb.GameAttribute{
		"map":    {Value: &gamepb.GameAttribute_StringValue{StringValue: "dust"}},
		"round":  {Value: &gamepb.GameAttribute_IntValue{IntValue: 3}},
		"speed":  {Value: &gamepb.GameAttribute_FloatValue{FloatValue: 1.25}},
		"ranked": {Value: &gamepb.GameAttribute_BoolValue{BoolValue: true}},
	}
	resp, err := games().CreateSession(host.ctx(ctx), &gamepb.SessionCreate{
		GameId: g.GetId(), UserIds: []string{host.id}, Attributes: attrs,
		Region: ptr(stdpb.RegionEnum_EU_WEST), Data: ptr(`{"seed":42}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	created := resp.GetSession()
	// Attributes and data round-trip exactly, and the read is immediate.
	if got := getSession(t, ctx, host, created.GetId()); !proto.Equal(got, created) {
		t.Fatalf("get after create:\n got %v\nwant %v", got, created)
	}
	list, err := games().GetSession(host.ctx(ctx), &gamepb.SessionGet{GameId: ptr(g.GetId())})
	if err != nil || len(list.GetSessions().GetSessions()) != 1 {
		t.Fatalf("live sessions of the game: %v, %v", list, err)
	}
	for _, st := range []gamepb.GameState{gamepb.GameState_STATE_WAITING, gamepb.GameState_STATE_STARTED,
		gamepb.GameState_STATE_PAUSED, gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_FINISHED} {
		up, err := games().UpdateSession(host.ctx(ctx), &gamepb.SessionUpdate{Id: created.GetId(), State: st,
			Attributes: map[string]*gamepb.GameAttribute{"last": {Value: &gamepb.GameAttribute_StringValue{StringValue: st.String()}}}})
		if err != nil {
			t.Fatalf("-> %v: %v", st, err)
		}
		if up.GetSession().GetState() != st || getSession(t, ctx, host, created.GetId()).GetState() != st {
			t.Fatalf("state not %v after update", st)
		}
	}
	var users []string
	var first, last int64
	var finalSnap []byte
	err = env.Pool.QueryRow(ctx, `SELECT user_ids, first_offset, last_offset, final_snapshot FROM match_history
		WHERE session_id = $1 AND game_id = $2 AND final_state = 3 AND started_at IS NOT NULL`, created.GetId(), g.GetId()).
		Scan(&users, &first, &last, &finalSnap)
	if err != nil {
		t.Fatalf("match history: %v", err)
	}
	final := &gamepb.Session{}
	_ = proto.Unmarshal(finalSnap, final)
	if len(users) != 1 || users[0] != host.id || last-first < 5 || final.GetAttributes()["last"].GetStringValue() != "STATE_FINISHED" {
		t.Fatalf("match history users=%v offsets %d..%d final=%v", users, first, last, final)
	}
	// FINISHED is terminal.
	_, err = games().UpdateSession(host.ctx(ctx), &gamepb.SessionUpdate{Id: created.GetId(), State: gamepb.GameState_STATE_STARTED})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = games().DeleteSession(host.ctx(ctx), &gamepb.SessionDelete{Id: created.GetId()})
	wantCode(t, err, codes.FailedPrecondition)
	list, _ = games().GetSession(host.ctx(ctx), &gamepb.SessionGet{GameId: ptr(g.GetId())})
	if len(list.GetSessions().GetSessions()) != 0 {
		t.Fatal("a finished session is still listed as live")
	}
}

func TestSessionStateMachine(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{MaxSessions: ptr("100")})
	S := func(s gamepb.GameState) gamepb.GameState { return s }
	cases := []struct {
		name string
		path []gamepb.GameState // legal steps first
		bad  gamepb.GameState
	}{
		{"created to finished", nil, S(gamepb.GameState_STATE_FINISHED)},
		{"created to paused", nil, S(gamepb.GameState_STATE_PAUSED)},
		{"waiting to finished", []gamepb.GameState{gamepb.GameState_STATE_WAITING}, S(gamepb.GameState_STATE_FINISHED)},
		{"started to waiting", []gamepb.GameState{gamepb.GameState_STATE_STARTED}, S(gamepb.GameState_STATE_WAITING)},
		{"started to queued", []gamepb.GameState{gamepb.GameState_STATE_STARTED}, S(gamepb.GameState_STATE_QUEUED)},
		{"paused to queued", []gamepb.GameState{gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_PAUSED}, S(gamepb.GameState_STATE_QUEUED)},
		{"update to deleted", nil, S(gamepb.GameState_STATE_DELETED)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSession(t, ctx, dev, g.GetId())
			for _, st := range tc.path {
				if _, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: st}); err != nil {
					t.Fatalf("legal step to %v: %v", st, err)
				}
			}
			before := getSession(t, ctx, dev, s.GetId())
			_, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: tc.bad})
			st := wantCode(t, err, codes.FailedPrecondition)
			assertBodyDetail(t, st, codes.FailedPrecondition)
			if after := getSession(t, ctx, dev, s.GetId()); !proto.Equal(before, after) {
				t.Fatal("an illegal transition changed the session")
			}
		})
	}
	t.Run("deleted is terminal", func(t *testing.T) {
		s, _ := newSession(t, ctx, dev, g.GetId())
		if _, err := games().DeleteSession(dev.ctx(ctx), &gamepb.SessionDelete{Id: s.GetId(), GameId: g.GetId()}); err != nil {
			t.Fatal(err)
		}
		if getSession(t, ctx, dev, s.GetId()).GetState() != gamepb.GameState_STATE_DELETED {
			t.Fatal("session not DELETED")
		}
		_, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: gamepb.GameState_STATE_STARTED})
		wantCode(t, err, codes.FailedPrecondition)
	})
}

func TestSessionLimitsAreEnforced(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{MaxSessions: ptr("1"), MaxPlayersPerSession: ptr("2")})
	_, err := games().CreateSession(dev.ctx(ctx), &gamepb.SessionCreate{GameId: g.GetId(), UserIds: []string{"a", "b", "c"}})
	wantCode(t, err, codes.FailedPrecondition)
	s, _ := newSession(t, ctx, dev, g.GetId(), "a", "b")
	_, err = games().CreateSession(dev.ctx(ctx), &gamepb.SessionCreate{GameId: g.GetId()})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), UserIds: []string{"a", "b", "c"}})
	wantCode(t, err, codes.FailedPrecondition)
	if _, err := games().DeleteSession(dev.ctx(ctx), &gamepb.SessionDelete{Id: s.GetId()}); err != nil {
		t.Fatal(err)
	}
	// A deleted session no longer counts against max_sessions.
	newSession(t, ctx, dev, g.GetId())
}

func TestSessionRejectsBadInput(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	s, _ := newSession(t, ctx, dev, g.GetId())
	bad := map[string]*gamepb.SessionCreate{
		"bad game id":      {GameId: "x"},
		"duplicate user":   {GameId: g.GetId(), UserIds: []string{"u1", "u1"}},
		"empty user":       {GameId: g.GetId(), UserIds: []string{""}},
		"empty attr key":   {GameId: g.GetId(), Attributes: map[string]*gamepb.GameAttribute{"": {Value: &gamepb.GameAttribute_IntValue{IntValue: 1}}}},
		"attr no value":    {GameId: g.GetId(), Attributes: map[string]*gamepb.GameAttribute{"k": {}}},
		"unknown region":   {GameId: g.GetId(), Region: ptr(stdpb.RegionEnum(99))},
		"unknown state":    {GameId: g.GetId(), State: gamepb.GameState(42)},
		"terminal initial": {GameId: g.GetId(), State: gamepb.GameState_STATE_FINISHED},
		"data not json":    {GameId: g.GetId(), Data: ptr("{")},
	}
	before := countAggregates(t, ctx, "session")
	for name, req := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := games().CreateSession(dev.ctx(ctx), req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	_, err := games().CreateSession(dev.ctx(ctx), &gamepb.SessionCreate{GameId: "0190f0f0-0000-7000-8000-000000000000"})
	wantCode(t, err, codes.NotFound)
	if after := countAggregates(t, ctx, "session"); after != before {
		t.Fatalf("rejected requests created sessions: %d -> %d", before, after)
	}
	for name, req := range map[string]*gamepb.SessionUpdate{
		"bad id":     {Id: "x"},
		"bad data":   {Id: s.GetId(), Data: ptr("nope")},
		"bad region": {Id: s.GetId(), Region: ptr(stdpb.RegionEnum(-3))},
	} {
		t.Run("update "+name, func(t *testing.T) {
			_, err := games().UpdateSession(dev.ctx(ctx), req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	_, err = games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), GameId: "0190f0f0-0000-7000-8000-000000000000"})
	wantCode(t, err, codes.NotFound)
	_, err = games().GetSession(dev.ctx(ctx), &gamepb.SessionGet{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = games().GetSession(dev.ctx(ctx), &gamepb.SessionGet{Id: ptr("0190f0f0-0000-7000-8000-000000000000")})
	wantCode(t, err, codes.NotFound)
}
