package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// gameSessionsPrint fingerprints a game's sessions in the write model and
// the read model, to show a refused call changed neither.
func gameSessionsPrint(t *testing.T, ctx context.Context, gameID string) string {
	t.Helper()
	var s string
	if err := env.Pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(string_agg(id || ':' || version || ':' || live || ':' || md5(state), ',' ORDER BY id), '')
			FROM command_aggregates WHERE kind = 'session' AND parent_id = $1) || '|' ||
		(SELECT coalesce(string_agg(id::text || ':' || version || ':' || state, ',' ORDER BY id), '')
			FROM sessions WHERE game_id = $1::uuid)`, gameID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// entitySessionPrint fingerprints a session's entities in the write model,
// the read model and its quota counter row.
func entitySessionPrint(t *testing.T, ctx context.Context, sessionID string) string {
	t.Helper()
	var s string
	if err := env.Pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(string_agg(id || ':' || version || ':' || live || ':' || md5(state), ',' ORDER BY id), '')
			FROM command_aggregates WHERE kind = 'entity' AND parent_id = $1) || '|' ||
		(SELECT coalesce(string_agg(id::text || ':' || version || ':' || deleted || ':' || md5(snapshot), ',' ORDER BY id), '')
			FROM entities WHERE session_id = $1::uuid) || '|' ||
		(SELECT coalesce(string_agg(live || ':' || bytes, ','), '')
			FROM aggregate_children WHERE parent_kind = 'session' AND parent_id = $1 AND child_kind = 'entity')`,
		sessionID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// refusedUnchanged requires err to be code with want in its message, and
// print() to be what it was before the call.
func refusedUnchanged(t *testing.T, err error, code codes.Code, want string, before string, print func() string) {
	t.Helper()
	st := wantCode(t, err, code)
	if !strings.Contains(st.Message(), want) {
		t.Fatalf("refusal %q does not say %q", st.Message(), want)
	}
	if after := print(); after != before {
		t.Fatalf("a refused call changed something:\n%s\n%s", before, after)
	}
}

func createSessionAs(ctx context.Context, a actor, gameID string, users ...string) (*gamepb.Session, error) {
	resp, err := games().CreateSession(a.ctx(ctx), &gamepb.SessionCreate{GameId: gameID, UserIds: users, State: gamepb.GameState_STATE_STARTED})
	return resp.GetSession(), err
}

// A player hosts at most OOF_QUOTA_OPEN_SESSIONS_PER_USER open sessions per
// game: one more is RESOURCE_EXHAUSTED naming the limit and changes
// nothing; finishing or deleting one frees a slot; other games and the
// game's managers are not affected.
func TestOpenSessionsPerPlayerPerGame(t *testing.T) {
	ctx := testCtx(t)
	limit := env.Cfg.Quotas.OpenSessionsPerUser
	owner, admin, p := signInAs(t, ctx, "developer"), signInAs(t, ctx, "admin"), signInAs(t, ctx, "player")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxSessions: ptr("100")})
	other := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxSessions: ptr("100")})
	// Sessions p is only listed in (hosted by the owner) do not count.
	if _, err := createSessionAs(ctx, owner, g.GetId(), p.id); err != nil {
		t.Fatal(err)
	}
	var hosted []*gamepb.Session
	for range limit {
		s, err := createSessionAs(ctx, p, g.GetId(), p.id)
		if err != nil {
			t.Fatalf("session %d of %d: %v", len(hosted)+1, limit, err)
		}
		hosted = append(hosted, s)
	}
	print := func() string { return gameSessionsPrint(t, ctx, g.GetId()) }
	before := print()
	_, err := createSessionAs(ctx, p, g.GetId(), p.id)
	refusedUnchanged(t, err, codes.ResourceExhausted, fmt.Sprintf("%d open sessions", limit), before, print)

	// Per game: another game still has room for p.
	if _, err := createSessionAs(ctx, p, other.GetId()); err != nil {
		t.Fatalf("a session of another game: %v", err)
	}
	// Finishing one frees a slot, and so does deleting one.
	_, err = games().UpdateSession(p.ctx(ctx), &gamepb.SessionUpdate{Id: hosted[0].GetId(), State: gamepb.GameState_STATE_FINISHED})
	wantCode(t, err, codes.OK)
	_, err = createSessionAs(ctx, p, g.GetId())
	wantCode(t, err, codes.OK)
	_, err = createSessionAs(ctx, p, g.GetId())
	wantCode(t, err, codes.ResourceExhausted)
	_, err = games().DeleteSession(p.ctx(ctx), &gamepb.SessionDelete{Id: hosted[1].GetId()})
	wantCode(t, err, codes.OK)
	_, err = createSessionAs(ctx, p, g.GetId())
	wantCode(t, err, codes.OK)

	// The game's managers host as many as max_sessions allows.
	for _, m := range []actor{owner, admin} {
		for i := range limit + 1 {
			if _, err := createSessionAs(ctx, m, g.GetId()); err != nil {
				t.Fatalf("manager's session %d: %v", i+1, err)
			}
		}
	}
}

// Players' sessions fill a game only up to max_sessions minus the reserve
// (OOF_QUOTA_SESSION_RESERVE_PERCENT of it, rounded up): the owner, admins
// and game instances still get in; they are bound by max_sessions itself.
func TestPlayersCannotLockTheOwnerOut(t *testing.T) {
	ctx := testCtx(t)
	const maxSessions = 4
	pct := env.Cfg.Quotas.SessionReservePercent
	if pct == 0 {
		t.Skip("no reserve configured")
	}
	forPlayers := maxSessions - (maxSessions*pct+99)/100
	owner, admin, service := signInAs(t, ctx, "developer"), signInAs(t, ctx, "admin"), signInAs(t, ctx, "service")
	g := newGame(t, ctx, owner, &gamepb.GameCreateRequest{MaxSessions: ptr(fmt.Sprint(maxSessions))})
	for i := range forPlayers {
		p := signInAs(t, ctx, "player")
		if _, err := createSessionAs(ctx, p, g.GetId(), p.id); err != nil {
			t.Fatalf("player session %d of %d: %v", i+1, forPlayers, err)
		}
	}
	late := signInAs(t, ctx, "player")
	print := func() string { return gameSessionsPrint(t, ctx, g.GetId()) }
	before := print()
	_, err := createSessionAs(ctx, late, g.GetId(), late.id)
	refusedUnchanged(t, err, codes.FailedPrecondition,
		fmt.Sprintf("players may open %d of its maximum of %d", forPlayers, maxSessions), before, print)

	// The reserve is the managers': each of them gets a slot in turn.
	for _, m := range []actor{owner, admin, service} {
		s, err := createSessionAs(ctx, m, g.GetId())
		if err != nil {
			t.Fatalf("a manager locked out by players: %v", err)
		}
		if forPlayers+1 < maxSessions {
			continue
		}
		// At max_sessions the managers are refused too, until one ends.
		before := print()
		_, err = createSessionAs(ctx, owner, g.GetId())
		refusedUnchanged(t, err, codes.FailedPrecondition, fmt.Sprintf("maximum of %d live sessions", maxSessions), before, print)
		_, err = games().DeleteSession(m.ctx(ctx), &gamepb.SessionDelete{Id: s.GetId()})
		wantCode(t, err, codes.OK)
	}
}

// bigAttrs is an entity's attributes of about 64 KiB.
func bigAttrs() entAttrs {
	a := entAttrs{}
	for i := range 64 {
		a[fmt.Sprintf("k%02d", i)] = aStr(strings.Repeat("x", 1000))
	}
	return a
}

func sessionBytes(t *testing.T, ctx context.Context, sessionID string) (counted, stored int64) {
	t.Helper()
	err := env.Pool.QueryRow(ctx, `SELECT
		(SELECT bytes FROM aggregate_children WHERE parent_kind = 'session' AND parent_id = $1 AND child_kind = 'entity'),
		(SELECT coalesce(sum(octet_length(state)), 0) FROM command_aggregates WHERE kind = 'entity' AND parent_id = $1 AND live)`,
		sessionID).Scan(&counted, &stored)
	if err != nil {
		t.Fatal(err)
	}
	return counted, stored
}

func setSessionBytes(t *testing.T, ctx context.Context, sessionID string, bytes int64) {
	t.Helper()
	if _, err := env.Pool.Exec(ctx, `UPDATE aggregate_children SET bytes = $2
		WHERE parent_kind = 'session' AND parent_id = $1 AND child_kind = 'entity'`, sessionID, bytes); err != nil {
		t.Fatal(err)
	}
}

// The bytes a session's live entities hold (their stored encoding) are
// counted exactly with every create, update and delete, and bounded by
// OOF_QUOTA_ENTITY_BYTES_PER_SESSION: a change past it is RESOURCE_EXHAUSTED
// naming the limit and changes nothing; shrinking always works.
func TestEntityBytesPerSession(t *testing.T) {
	ctx := testCtx(t)
	limit := env.Cfg.Quotas.EntityBytesPerSession
	w := newEntWorld(t, ctx)
	sid := w.session.GetId()
	big := w.newEntity(t, ctx, bigAttrs())
	small := w.newEntity(t, ctx, entAttrs{"a": aStr("s")})
	counted, stored := sessionBytes(t, ctx, sid)
	if counted != stored || stored < 64_000 {
		t.Fatalf("counted %d bytes, the live entities hold %d", counted, stored)
	}
	bigSize := int64(countRows(t, ctx, `SELECT octet_length(state) FROM command_aggregates WHERE kind = 'entity' AND id = $1`, big.GetId()))

	// Full but for half a big entity: another big one is refused.
	setSessionBytes(t, ctx, sid, limit-bigSize/2)
	print := func() string { return entitySessionPrint(t, ctx, sid) }
	before := print()
	_, err := games().CreateEntity(w.host.ctx(ctx), &entCreate{Name: "crate", Type: "prop", SessionId: sid, GameId: w.game.GetId(), Attributes: bigAttrs()})
	refusedUnchanged(t, err, codes.ResourceExhausted, fmt.Sprintf("at most %d bytes", limit), before, print)
	// Growing an entity past the limit is refused too; the entity is as it was.
	setSessionBytes(t, ctx, sid, limit-10)
	before = print()
	_, err = w.update(w.host.ctx(ctx), small.GetId(), aStr(strings.Repeat("y", 100)))
	refusedUnchanged(t, err, codes.ResourceExhausted, fmt.Sprintf("at most %d bytes", limit), before, print)
	w.wantEntity(t, ctx, w.host, small, "1")
	// At the limit, shrinking and deleting work and count exactly.
	setSessionBytes(t, ctx, sid, limit)
	short := make([]*entA, 64)
	for i := range short {
		short[i] = aStr("s")
	}
	_, err = w.update(w.host.ctx(ctx), big.GetId(), short...)
	wantCode(t, err, codes.OK)
	afterShrink, stored2 := sessionBytes(t, ctx, sid)
	if shrunk := stored - stored2; afterShrink != limit-shrunk || shrunk <= 0 {
		t.Fatalf("after shrinking by %d: counted %d, want %d", shrunk, afterShrink, limit-shrunk)
	}
	wantCode(t, w.remove(w.host.ctx(ctx), big.GetId()), codes.OK)
	afterDelete, stored3 := sessionBytes(t, ctx, sid)
	if afterDelete != afterShrink-(stored2-stored3) {
		t.Fatalf("after deleting: counted %d, want %d", afterDelete, afterShrink-(stored2-stored3))
	}
}

// The byte quota holds exactly under concurrent creates: with room for two
// big entities, two of six concurrent creates pass.
func TestEntityBytesHoldUnderConcurrency(t *testing.T) {
	ctx := testCtx(t)
	limit := env.Cfg.Quotas.EntityBytesPerSession
	w := newEntWorld(t, ctx)
	sid := w.session.GetId()
	first := w.newEntity(t, ctx, bigAttrs())
	size := int64(countRows(t, ctx, `SELECT octet_length(state) FROM command_aggregates WHERE kind = 'entity' AND id = $1`, first.GetId()))
	setSessionBytes(t, ctx, sid, limit-2*size-size/2)
	const tries = 6
	got := make([]codes.Code, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := games().CreateEntity(w.host.ctx(ctx), &entCreate{Name: "crate", Type: "prop", SessionId: sid, GameId: w.game.GetId(), Attributes: bigAttrs()})
			got[i] = codeOf(err)
		}()
	}
	wg.Wait()
	ok, full := 0, 0
	for _, c := range got {
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
	if n := countRows(t, ctx, `SELECT count(*) FROM command_aggregates WHERE kind = 'entity' AND parent_id = $1`, sid); n != 3 {
		t.Fatalf("%d entities in the write model, want 3 (refused creates write nothing)", n)
	}
	if counted, _ := sessionBytes(t, ctx, sid); counted != limit-size/2 {
		t.Fatalf("counted %d bytes, want %d", counted, limit-size/2)
	}
}
