package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
)

// readWhileRebuilding calls GetGame and GetSession for rows that exist
// until stop is called, and counts the answers that failed (NOT_FOUND
// included: the old -rebuild showed an empty read model meanwhile).
func readWhileRebuilding(ctx context.Context, a actor, gameIDs, sessionIDs []string) (stop func() (reads, failed int64, firstErr error)) {
	i := 0 // keepReading calls check from one goroutine
	return keepReading(ctx, func(ctx context.Context) error {
		defer func() { i++ }()
		if i%2 == 0 {
			id := gameIDs[i/2%len(gameIDs)]
			_, err := games().GetGame(a.ctx(ctx), &gamepb.GameGetRequest{Id: &id})
			return err
		}
		id := sessionIDs[i/2%len(sessionIDs)]
		_, err := games().GetSession(a.ctx(ctx), &gamepb.SessionGet{Id: &id})
		return err
	})
}

// tableShape is what a rebuild must leave of a table besides its rows:
// its persistence (the shadow is built UNLOGGED) and its indexes with
// their names and definitions (some are made only at the end).
func tableShape(t *testing.T, ctx context.Context, table string) string {
	t.Helper()
	var shape string
	if err := env.Pool.QueryRow(ctx, `SELECT c.relpersistence::text || ' ' || (SELECT string_agg(indexdef, '; ' ORDER BY indexname)
		FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1)
		FROM pg_class c WHERE c.oid = $1::regclass`, table).Scan(&shape); err != nil {
		t.Fatal(err)
	}
	return shape
}

func shadowExists(t *testing.T, ctx context.Context, projector string) bool {
	t.Helper()
	return countRows(t, ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, "rebuild_"+projector) == 1
}

// `oof rebuild games|sessions`: the rebuilt tables equal the live ones
// (checksums printed equal), a corrupted live row is repaired, reads of
// existing rows never miss during the rebuild, index names survive the
// swap, and the live projector goes on applying afterwards.
func TestRebuildOnline(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	dev := signInAs(t, ctx, "developer")
	var gameIDs, sessionIDs []string
	for range 12 {
		g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
		gameIDs = append(gameIDs, g.GetId())
	}
	for range 3 {
		s, _ := newSession(t, ctx, dev, gameIDs[0])
		sessionIDs = append(sessionIDs, s.GetId())
	}
	for _, id := range sessionIDs {
		getSession(t, ctx, dev, id) // projected
	}
	shapes := map[string]string{}
	for _, table := range []string{"games", "sessions", "match_history"} {
		shapes[table] = tableShape(t, ctx, table)
	}

	for _, proj := range []string{"games", "sessions"} {
		stop := readWhileRebuilding(ctx, dev, gameIDs, sessionIDs)
		out, code := cli.run(t, "rebuild", proj, "-batch=3", "-pause=5ms")
		reads, failed, first := stop()
		if code != 0 || !strings.Contains(out, proj+": rebuilt from") || strings.Contains(out, "DIFFERENT") {
			t.Fatalf("oof rebuild %s: exit %d\n%s", proj, code, out)
		}
		if failed > 0 || reads == 0 {
			t.Fatalf("reads during the rebuild of %s: %d, failed %d (first: %v)", proj, reads, failed, first)
		}
		t.Logf("oof rebuild %s (%d reads meanwhile):\n%s", proj, reads, out)
		if shadowExists(t, ctx, proj) {
			t.Fatalf("shadow schema of %s left after a successful rebuild", proj)
		}
	}
	for table, want := range shapes {
		if got := tableShape(t, ctx, table); got != want {
			t.Fatalf("%s after the rebuild: %s\nwant %s", table, got, want)
		}
	}

	// Corrupt one live row: the rebuild reports the difference and serves
	// the right game afterwards.
	victim := gameIDs[3]
	if _, err := env.Pool.Exec(ctx, `UPDATE games SET snapshot = (SELECT snapshot FROM games WHERE id = $2), name = 'corrupted'
		WHERE id = $1`, victim, gameIDs[4]); err != nil {
		t.Fatal(err)
	}
	out, code := cli.run(t, "rebuild", "games")
	if code != 0 || !strings.Contains(out, "DIFFERENT") {
		t.Fatalf("oof rebuild games after corruption: exit %d\n%s", code, out)
	}
	got, err := games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: &victim})
	if err != nil || got.GetGame().GetId() != victim {
		t.Fatalf("GetGame(%s) after the rebuild: %v, %v", victim, got.GetGame().GetId(), err)
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM games WHERE name = 'corrupted'`); n != 0 {
		t.Fatalf("%d corrupted rows left", n)
	}
	// Rebuilding again finds nothing to repair.
	if out, code := cli.run(t, "rebuild", "games"); code != 0 || strings.Contains(out, "DIFFERENT") || !strings.Contains(out, "identical") {
		t.Fatalf("second rebuild: exit %d\n%s", code, out)
	}

	// "all" rebuilds every projector but the live fan-outs, which it names.
	out, code = cli.run(t, "rebuild", "all")
	t.Logf("oof rebuild all:\n%s", out)
	for _, want := range []string{"users: rebuilt", "players: rebuilt", "games: rebuilt", "sessions: rebuilt",
		"entities: rebuilt", "trending: rebuilt", "scores: rebuilt", "live: skipped", "global: skipped"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("oof rebuild all: exit %d, want %q\n%s", code, want, out)
		}
	}
	// No difference but in trending's scores: sums of floats taken in a
	// partition-interleaving order, which may differ in the last bits.
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "DIFFERENT") && !strings.HasPrefix(strings.TrimSpace(line), "game_trend:") {
			t.Fatalf("oof rebuild all found a difference:\n%s", out)
		}
	}

	// The live projector applies new events to the swapped-in table.
	g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	id := g.GetId()
	waitFor(t, func() bool {
		_, err := games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: &id})
		return err == nil
	})
}

// A rebuild killed with SIGKILL mid-way leaves its shadow and nothing else
// changed; the next run resumes it and ends with the right tables.
func TestRebuildOnlineResumesAfterKill(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	dev := signInAs(t, ctx, "developer")
	for range 25 {
		newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	}
	before := countRows(t, ctx, `SELECT count(*) FROM games`)

	cmd := exec.Command(cli.bin, "rebuild", "games", "-restart", "-batch=1", "-pause=40ms")
	cmd.Env = append(os.Environ(), cli.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var applied int64
		if shadowExists(t, ctx, "games") {
			_ = env.Pool.QueryRow(ctx, `SELECT coalesce(sum(next_offset), 0) FROM rebuild_games.projector_offsets`).Scan(&applied)
		}
		if applied >= 5 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the rebuild made no progress\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !shadowExists(t, ctx, "games") {
		t.Fatalf("the killed rebuild finished before it was killed; make it slower\n%s", out.String())
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM games`); n != before {
		t.Fatalf("live games changed from %d to %d by a killed rebuild", before, n)
	}

	res, code := cli.run(t, "rebuild", "games")
	t.Logf("killed run:\n%s\nrerun:\n%s", out.String(), res)
	if code != 0 || !strings.Contains(res, "resumed an interrupted run") || !strings.Contains(res, "identical") {
		t.Fatalf("rerun after kill -9: exit %d\n%s", code, res)
	}
	if shadowExists(t, ctx, "games") {
		t.Fatal("shadow left after the resumed rebuild")
	}
	if n := countRows(t, ctx, `SELECT count(*) FROM games`); n != before {
		t.Fatalf("games after the resumed rebuild: %d, want %d", n, before)
	}
}

// What `oof rebuild` refuses, and how.
func TestRebuildOnlineRefusals(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	// Another run of the same projector holds its lock.
	conn, err := env.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('oof-rebuild:players'))`); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtext('oof-rebuild:players'))`)
	}()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rebuild"}, 2, "name one projector, or all"},
		{[]string{"rebuild", "games", "sessions"}, 2, "name one projector, or all"},
		{[]string{"rebuild", "games", "-pause=-1s"}, 2, "must not be negative"},
		{[]string{"rebuild", "nosuch"}, 1, `no projector named "nosuch"`},
		{[]string{"rebuild", "live"}, 1, "replaying it would send its events to players again"},
		{[]string{"rebuild", "global"}, 1, "replaying it would send its events to players again"},
		{[]string{"rebuild", "players"}, 1, "another `oof rebuild` of this projector is running"},
	} {
		out, code := cli.run(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("oof %v: exit %d, want %d with %q\n%s", tc.args, code, tc.code, tc.want, out)
		}
	}
}

// Games created while the rebuild runs (the live projector ahead of the
// shadow at the swap) are all in the swapped-in table, and the checksums
// taken at the swap agree.
func TestRebuildOnlineUnderWrites(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	dev := signInAs(t, ctx, "developer")
	for range 10 {
		newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
	}
	var created []string // keepReading calls its check from one goroutine
	stop := keepReading(ctx, func(ctx context.Context) error {
		defer time.Sleep(20 * time.Millisecond)
		resp, err := games().CreateGame(dev.ctx(ctx), &gamepb.GameCreateRequest{Name: "Game " + uniqueName("w")})
		if err == nil {
			created = append(created, resp.GetSingleGame().GetId())
		}
		return err
	})
	out, code := cli.run(t, "rebuild", "games", "-batch=2", "-pause=10ms")
	stop()
	t.Logf("oof rebuild games with %d games created meanwhile:\n%s", len(created), out)
	if code != 0 || !strings.Contains(out, "identical") || len(created) == 0 {
		t.Fatalf("oof rebuild games under writes: exit %d, %d created\n%s", code, len(created), out)
	}
	for _, id := range created {
		waitFor(t, func() bool {
			_, err := games().GetGame(dev.ctx(ctx), &gamepb.GameGetRequest{Id: &id})
			return err == nil
		})
	}
}
