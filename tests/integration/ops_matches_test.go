package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	opspb "github.com/oof-gg/platform/api/gen/oof/ops/v1"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/internal/platform"
	queryops "github.com/oof-gg/platform/query/ops"
	"github.com/oof-gg/platform/tests/harness"
)

// sessionPartition waits for the sessions projector and returns the
// partition of the session's events.
func sessionPartition(t *testing.T, ctx context.Context, id string) int32 {
	t.Helper()
	var p int32 = -1
	waitFor(t, func() bool {
		return env.Pool.QueryRow(ctx, `SELECT kafka_partition FROM sessions WHERE id = $1`, id).Scan(&p) == nil
	})
	return p
}

// finishSession moves a session to STARTED, then FINISHED.
func finishSession(t *testing.T, ctx context.Context, ls liveSession) {
	t.Helper()
	for _, st := range []gamepb.GameState{gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_FINISHED} {
		if _, err := games().UpdateSession(ls.dev.ctx(ctx), &gamepb.SessionUpdate{Id: ls.id, State: st}); err != nil {
			t.Fatalf("session %s -> %v: %v", ls.id, st, err)
		}
	}
}

// keyedOffsets are the offsets of a session's records on a topic.
func keyedOffsets(t *testing.T, ctx context.Context, topic, key string) []int64 {
	t.Helper()
	recs, err := harness.ReadTopic(ctx, env.Kafka, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, r := range recs {
		if string(r.Key) == key {
			out = append(out, r.Offset)
		}
	}
	return out
}

// twoMatches plays match a and match b on the same partition, their live
// and lifecycle events interleaved, with gaps in a's so pacing shows.
type twoMatches struct{ a, b liveSession }

func playTwoMatches(t *testing.T, ctx context.Context) twoMatches {
	t.Helper()
	a := newLiveSession(t, ctx, 1)
	pa := sessionPartition(t, ctx, a.id)
	var b liveSession
	for i := 0; ; i++ {
		if i == 12 {
			t.Fatal("no second session on the first one's partition")
		}
		b = newLiveSession(t, ctx, 1)
		if sessionPartition(t, ctx, b.id) == pa {
			break
		}
	}
	ca := openLive(t, ctx, env.Conn, a.members[0], a.id, openOpts{})
	cb := openLive(t, ctx, env.Conn, b.members[0], b.id, openOpts{})
	for i, id := range []string{"a1", "b1", "a2", "b2", "a3"} {
		c := ca
		if id[0] == 'b' {
			c = cb
		}
		c.send(t, action("move-"+id, id))
		c.collect(t, 1, named("move-"+id))
		if i == 2 {
			time.Sleep(600 * time.Millisecond)
		}
	}
	time.Sleep(400 * time.Millisecond)
	finishSession(t, ctx, a)
	cb.send(t, action("move-b3", "b3"))
	cb.collect(t, 1, named("move-b3"))
	finishSession(t, ctx, b)
	// Both matches recorded, with all their live events.
	for _, ls := range []liveSession{a, b} {
		want := len(keyedOffsets(t, ctx, env.Topic(platform.TopicLive), ls.id))
		waitFor(t, func() bool {
			return countRows(t, ctx, `SELECT count(*) FROM match_history m JOIN live_event_ranges r
				ON r.session_id = m.session_id::text WHERE m.session_id = $1 AND r.event_count = $2`, ls.id, want) == 1
		})
	}
	return twoMatches{a, b}
}

// decodeLines reads JSON lines of oof replay.
func decodeLines(t *testing.T, out string) []queryops.TailLine {
	t.Helper()
	var lines []queryops.TailLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l queryops.TailLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// Replay prints exactly the match's events — lifecycle and live — from
// the recorded ranges, in time order, and nothing of another match whose
// records lie inside those ranges; the RPC streams the same records, and
// paces them at N× the original gaps.
func TestOpsReplayMatch(t *testing.T) {
	ctx := testCtx(t)
	m := playTwoMatches(t, ctx)
	admin := signInAs(t, ctx, "admin")
	sessTopic, liveTopic := env.Topic(platform.TopicSession), env.Topic(platform.TopicLive)
	wantSess := keyedOffsets(t, ctx, sessTopic, m.a.id)
	wantLive := keyedOffsets(t, ctx, liveTopic, m.a.id)

	got, err := opsClient().GetMatch(admin.ctx(ctx), &opspb.GetMatchRequest{SessionId: m.a.id})
	if err != nil {
		t.Fatal(err)
	}
	gm := got.GetMatch()
	sr, lr := gm.GetSessionEvents(), gm.GetLiveEvents()
	if sr.GetFirstOffset() != wantSess[0] || sr.GetLastOffset() != wantSess[len(wantSess)-1] || sr.GetCount() != int64(len(wantSess)) ||
		lr.GetFirstOffset() != wantLive[0] || lr.GetLastOffset() != wantLive[len(wantLive)-1] || lr.GetCount() != int64(len(wantLive)) ||
		gm.GetEventCount() != int64(len(wantSess)+len(wantLive)) || gm.GetFinalState() != "STATE_FINISHED" ||
		!slices.Equal(gm.GetUserIds(), []string{m.a.members[0].id}) || gm.GetGameId() != m.a.gameID {
		t.Fatalf("match %v\nwant session offsets %v, live offsets %v", gm, wantSess, wantLive)
	}
	// The other match's records really are inside a's ranges.
	if bIn := keyedOffsets(t, ctx, liveTopic, m.b.id); !slices.ContainsFunc(bIn, func(o int64) bool {
		return o > lr.GetFirstOffset() && o < lr.GetLastOffset()
	}) {
		t.Fatalf("b's live offsets %v not inside a's range %v", bIn, lr)
	}

	out, code := platformCLI(t).run(t, "replay", m.a.id)
	if code != 0 {
		t.Fatalf("oof replay: exit %d\n%s", code, out)
	}
	lines := decodeLines(t, out)
	var gotSess, gotLive []int64
	var moves []string
	for i, l := range lines {
		if l.Key != m.a.id || l.Error != "" {
			t.Fatalf("line %d is not a's or not decoded: %+v", i, l)
		}
		switch l.Topic {
		case sessTopic:
			gotSess = append(gotSess, l.Offset)
		case liveTopic:
			gotLive = append(gotLive, l.Offset)
			if s := string(l.Data); strings.Contains(s, `"move-`) {
				moves = append(moves, s[strings.Index(s, `"move-`)+6:][:2])
			}
		}
		if i > 0 && l.Headers["ce_time"] < lines[i-1].Headers["ce_time"] {
			t.Fatalf("line %d is before line %d: %s < %s", i, i-1, l.Headers["ce_time"], lines[i-1].Headers["ce_time"])
		}
	}
	if !slices.Equal(gotSess, wantSess) || !slices.Equal(gotLive, wantLive) || !slices.Equal(moves, []string{"a1", "a2", "a3"}) {
		t.Fatalf("replayed session %v live %v moves %v; want %v, %v, [a1 a2 a3]\n%s", gotSess, gotLive, moves, wantSess, wantLive, out)
	}
	if lines[0].Type != "oof.events.v1.SessionCreated" || lines[len(lines)-1].Type != "oof.events.v1.SessionUpdated" {
		t.Fatalf("replay starts with %s and ends with %s", lines[0].Type, lines[len(lines)-1].Type)
	}

	t.Logf("replayed %d lines: session %v live %v", len(lines), gotSess, gotLive)
	// ReplayMatch at 0 (no pacing): the same records.
	recv := func(speed float64) ([]*opspb.ReplayedEvent, []time.Time) {
		st, err := opsClient().ReplayMatch(admin.ctx(ctx), &opspb.ReplayMatchRequest{SessionId: m.a.id, Speed: speed})
		if err != nil {
			t.Fatal(err)
		}
		var evs []*opspb.ReplayedEvent
		var at []time.Time
		for {
			r, err := st.Recv()
			if err == io.EOF {
				return evs, at
			}
			if err != nil {
				t.Fatalf("ReplayMatch: %v", err)
			}
			evs, at = append(evs, r.GetEvent()), append(at, time.Now())
		}
	}
	evs, _ := recv(0)
	if len(evs) != len(lines) {
		t.Fatalf("ReplayMatch sent %d events, oof replay printed %d", len(evs), len(lines))
	}
	for i, e := range evs {
		if e.GetTopic() != lines[i].Topic || e.GetOffset() != lines[i].Offset || e.GetDataJson() == "" {
			t.Fatalf("event %d: %v, want %s@%d", i, e, lines[i].Topic, lines[i].Offset)
		}
	}
	// At 4×, each event arrives at its original offset from the first / 4.
	const speed = 4
	evs, at := recv(speed)
	t0 := evs[0].GetTime().AsTime()
	for i, e := range evs {
		want := time.Duration(float64(e.GetTime().AsTime().Sub(t0)) / speed)
		if got := at[i].Sub(at[0]); got < want-100*time.Millisecond || got > want+300*time.Millisecond {
			t.Fatalf("event %d arrived %v after the first, want %v (±)", i, got, want)
		}
	}
	if total := evs[len(evs)-1].GetTime().AsTime().Sub(t0); total < time.Second {
		t.Fatalf("the match lasted only %v: pacing not exercised", total)
	}
}

// List and inspect: filters by game, player and end time, keyset pages
// without repeats; bad input is INVALID_ARGUMENT / NOT_FOUND.
func TestOpsListMatches(t *testing.T) {
	ctx := testCtx(t)
	since := time.Now().Add(-time.Second)
	m := playTwoMatches(t, ctx)
	admin := signInAs(t, ctx, "admin")
	list := func(req *opspb.ListMatchesRequest) []string {
		t.Helper()
		var ids []string
		for range 100 {
			resp, err := opsClient().ListMatches(admin.ctx(ctx), req)
			if err != nil {
				t.Fatal(err)
			}
			for _, mm := range resp.GetMatches() {
				ids = append(ids, mm.GetSessionId())
			}
			if resp.GetNextCursor() == "" {
				return ids
			}
			req.Cursor = resp.GetNextCursor()
		}
		t.Fatal("paging does not end")
		return nil
	}
	if got := list(&opspb.ListMatchesRequest{GameId: m.a.gameID}); !slices.Equal(got, []string{m.a.id}) {
		t.Fatalf("by game: %v", got)
	}
	if got := list(&opspb.ListMatchesRequest{UserId: m.b.members[0].id}); !slices.Equal(got, []string{m.b.id}) {
		t.Fatalf("by player: %v", got)
	}
	// Pages of one since the test began: both, newest end first, once each.
	got := list(&opspb.ListMatchesRequest{EndedSince: timestamppb.New(since), Limit: 1})
	ia, ib := slices.Index(got, m.a.id), slices.Index(got, m.b.id)
	if ia < 0 || ib < 0 || ib > ia {
		t.Fatalf("paged list %v: want b before a", got)
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s on two pages: %v", id, got)
		}
		seen[id] = true
	}
	if got := list(&opspb.ListMatchesRequest{GameId: m.a.gameID, EndedUntil: timestamppb.New(since)}); len(got) != 0 {
		t.Fatalf("ended before the test began: %v", got)
	}

	// The CLI: filters and JSON answer alike.
	cli := platformCLI(t)
	out, code := cli.run(t, "matches", "--game", m.b.gameID, "--player", m.b.members[0].id, "--since", "10m", "-json")
	var resp struct {
		Matches []struct {
			SessionID string `json:"sessionId"`
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &resp) != nil || len(resp.Matches) != 1 || resp.Matches[0].SessionID != m.b.id {
		t.Fatalf("oof matches: exit %d\n%s", code, out)
	}
	out, code = cli.run(t, "match", m.b.id)
	if code != 0 || !strings.Contains(out, `"liveEvents"`) || !strings.Contains(out, m.b.members[0].id) {
		t.Fatalf("oof match: exit %d\n%s", code, out)
	}
	if out, code = cli.run(t, "match", "nope"); code != 1 {
		t.Fatalf("oof match nope: exit %d\n%s", code, out)
	}
	if out, code = cli.run(t, "matches", "--since", "yesterday"); code != 2 {
		t.Fatalf("oof matches --since=yesterday: exit %d\n%s", code, out)
	}

	for name, call := range map[string]func() error{
		"bad id": func() error {
			_, err := opsClient().GetMatch(admin.ctx(ctx), &opspb.GetMatchRequest{SessionId: "x"})
			return err
		},
		"bad game": func() error {
			_, err := opsClient().ListMatches(admin.ctx(ctx), &opspb.ListMatchesRequest{GameId: "x"})
			return err
		},
		"bad cursor": func() error {
			_, err := opsClient().ListMatches(admin.ctx(ctx), &opspb.ListMatchesRequest{Cursor: "x"})
			return err
		},
		"bad limit": func() error {
			_, err := opsClient().ListMatches(admin.ctx(ctx), &opspb.ListMatchesRequest{Limit: 501})
			return err
		},
		"bad speed": func() error { return replayErr(ctx, admin.ctx(ctx), m.a.id, -1) },
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), codes.InvalidArgument) })
	}
	_, err := opsClient().GetMatch(admin.ctx(ctx), &opspb.GetMatchRequest{SessionId: "00000000-0000-4000-8000-000000000000"})
	wantCode(t, err, codes.NotFound)
	// A session that has not finished is not a match yet.
	open := newLiveSession(t, ctx, 1)
	_, err = opsClient().GetMatch(admin.ctx(ctx), &opspb.GetMatchRequest{SessionId: open.id})
	wantCode(t, err, codes.NotFound)
}

// replayErr is the status ReplayMatch ends with.
func replayErr(_ context.Context, callCtx context.Context, id string, speed float64) error {
	st, err := opsClient().ReplayMatch(callCtx, &opspb.ReplayMatchRequest{SessionId: id, Speed: speed})
	if err != nil {
		return err
	}
	for {
		if _, err := st.Recv(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// Match history is for admins only.
func TestOpsMatchesAdminOnly(t *testing.T) {
	ctx := testCtx(t)
	id := "00000000-0000-4000-8000-000000000000"
	calls := map[string]func(context.Context) error{
		"ListMatches": func(c context.Context) error {
			_, err := opsClient().ListMatches(c, &opspb.ListMatchesRequest{})
			return err
		},
		"GetMatch": func(c context.Context) error {
			_, err := opsClient().GetMatch(c, &opspb.GetMatchRequest{SessionId: id})
			return err
		},
		"ReplayMatch": func(c context.Context) error { return replayErr(ctx, c, id, 0) },
	}
	for _, role := range []string{"player", "developer", "service"} {
		caller := signedIn(t, ctx, role)
		for method, call := range calls {
			t.Run(role+"/"+method, func(t *testing.T) { wantCode(t, call(caller.in(ctx)), codes.PermissionDenied) })
		}
	}
	for method, call := range calls {
		t.Run("anonymous/"+method, func(t *testing.T) { wantCode(t, call(asNewClient(ctx)), codes.Unauthenticated) })
	}
}
