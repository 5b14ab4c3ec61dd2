package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/tests/harness"
)

// keepReading runs check over and over until stop is called, and counts the
// reads and those that failed (an error, or not the expected answer).
func keepReading(ctx context.Context, check func(context.Context) error) (stop func() (reads, failed int64, first error)) {
	var n, fail atomic.Int64
	var errOnce sync.Once
	var firstErr error
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			err := check(ctx)
			n.Add(1)
			if err != nil {
				fail.Add(1)
				errOnce.Do(func() { firstErr = err })
			}
		}
	}()
	return func() (int64, int64, error) {
		close(done)
		wg.Wait()
		return n.Load(), fail.Load(), firstErr
	}
}

// redisDump is every key matching pattern (but those skip names) with its
// value in a comparable form: a sorted set's members and scores (rounded:
// trending's are float sums), a hash's fields, a string.
func redisDump(t *testing.T, ctx context.Context, pattern string, skip func(string) bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	iter := env.Redis.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		if skip != nil && skip(k) {
			continue
		}
		var lines []string
		switch typ := env.Redis.Type(ctx, k).Val(); typ {
		case "zset":
			for _, z := range env.Redis.ZRangeWithScores(ctx, k, 0, -1).Val() {
				lines = append(lines, fmt.Sprintf("%v %.6f", z.Member, z.Score))
			}
		case "hash":
			for f, v := range env.Redis.HGetAll(ctx, k).Val() {
				lines = append(lines, f+"="+v)
			}
			slices.Sort(lines)
		case "string":
			lines = append(lines, env.Redis.Get(ctx, k).Val())
		default:
			lines = append(lines, "type "+typ)
		}
		out[k] = strings.Join(lines, "\n")
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffDumps names the keys whose values differ (at most a few).
func diffDumps(got, want map[string]string) string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("%s: got %q, want no key", k, v))
		}
	}
	slices.Sort(d)
	return strings.Join(d[:min(len(d), 5)], "\n")
}

// Whether a rebuild must find its old tables different.
const (
	sameTables    = "same"
	changedTables = "changed"
	anyTables     = "any" // trending's float sums may differ in the last bits
)

// rebuildOK runs `oof rebuild proj`, which must succeed, find the old
// tables as want says, and leave no shadow schema and no resync keys.
func rebuildOK(t *testing.T, ctx context.Context, cli oofCLI, proj, want string, args ...string) string {
	t.Helper()
	out, code := cli.run(t, append([]string{"rebuild", proj}, args...)...)
	differs := strings.Contains(out, "DIFFERENT")
	if code != 0 || !strings.Contains(out, proj+": rebuilt from") || (want == sameTables && differs) || (want == changedTables && !differs) {
		t.Fatalf("oof rebuild %s (old tables: want %s): exit %d\n%s", proj, want, code, out)
	}
	if shadowExists(t, ctx, proj) {
		t.Fatalf("shadow schema of %s left after a successful rebuild", proj)
	}
	if left := redisDump(t, ctx, env.Cfg.RedisKeyPrefix+"*:rebuild", nil); len(left) > 0 {
		t.Fatalf("resync keys left in Redis: %v", left)
	}
	return out
}

// `oof rebuild entities`: the table and the live Redis copies end as the
// live projector made them, reads answer the same throughout, and a
// corrupted copy (of a live or a deleted entity), a lost copy and a
// corrupted row are repaired.
func TestRebuildOnlineEntities(t *testing.T) {
	cli := platformCLI(t)
	ctx := testCtx(t) // after the CLI is built: a first build can take long
	w := newEntWorld(t, ctx)
	var ents []*gamepb.Entity
	for i := range 6 {
		ents = append(ents, w.newEntity(t, ctx, entAttrs{"hp": aInt(int32(i))}))
	}
	for i := range 3 {
		up, err := w.update(w.host.ctx(ctx), ents[i].GetId(), aInt(int32(100+i)))
		wantCode(t, err, codes.OK)
		ents[i] = up.GetEntity()
	}
	gone := ents[5].GetId()
	wantCode(t, w.remove(w.host.ctx(ctx), gone), codes.OK)
	ents = ents[:5]
	versions := map[string]string{}
	for _, e := range ents {
		_, v, err := w.get(ctx, w.host, e.GetId())
		wantCode(t, err, codes.OK)
		versions[e.GetId()] = v
	}
	key := func(id string) string { return env.Cfg.RedisKeyPrefix + "entity:{" + w.session.GetId() + "}:" + id }
	copies := func() map[string]string { return redisDump(t, ctx, key("*"), nil) }
	// The copies are written after the projector's commit: wait for all.
	entEventually(t, "the live copies", func() bool {
		c := copies()
		for _, v := range c {
			if strings.Contains(v, "p=") {
				return false
			}
		}
		return len(c) == len(ents)
	})
	rowsQ := `SELECT row_to_json(t)::text FROM entities t WHERE session_id = $1 ORDER BY id`
	rows := func() []string { return dumpArgs(t, ctx, rowsQ, w.session.GetId()) }
	wantRows, wantCopies := rows(), copies()
	check := func(ctx context.Context) error {
		for _, e := range ents {
			got, v, err := w.get(ctx, w.host, e.GetId())
			if err != nil || !proto.Equal(got, e) || v != versions[e.GetId()] {
				return fmt.Errorf("GetEntity(%s) = %v version %s (%v), want %v version %s", e.GetId(), got, v, err, e, versions[e.GetId()])
			}
		}
		if _, _, err := w.get(ctx, w.host, gone); codeOf(err) != codes.NotFound {
			return fmt.Errorf("GetEntity of the deleted entity: %v", err)
		}
		return nil
	}
	if err := check(ctx); err != nil {
		t.Fatal(err)
	}
	verify := func(when string) {
		t.Helper()
		if got := rows(); !slices.Equal(got, wantRows) {
			t.Fatalf("%s: entities rows\n%v\nwant\n%v", when, got, wantRows)
		}
		if got := copies(); diffDumps(got, wantCopies) != "" {
			t.Fatalf("%s: live copies differ:\n%s", when, diffDumps(got, wantCopies))
		}
		for _, e := range ents {
			if ttl := env.Redis.PTTL(ctx, key(e.GetId())).Val(); ttl <= 23*time.Hour || ttl > 24*time.Hour {
				t.Fatalf("%s: copy of %s expires in %v, want about 24 h", when, e.GetId(), ttl)
			}
		}
		if err := check(ctx); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}

	stop := keepReading(ctx, check)
	out := rebuildOK(t, ctx, cli, "entities", sameTables, "-batch=2", "-pause=5ms")
	reads, failed, firstErr := stop()
	t.Logf("oof rebuild entities (%d reads meanwhile):\n%s", reads, out)
	if failed > 0 || reads == 0 {
		t.Fatalf("reads during the rebuild: %d, failed %d (first: %v)", reads, failed, firstErr)
	}
	verify("after the rebuild")

	// Corrupt: one copy holds another entity's state at its own version, one
	// copy is lost, the deleted entity has a copy again, and one row holds
	// another entity's snapshot (its copy, read first, hides that).
	a, b, c := ents[0].GetId(), ents[1].GetId(), ents[2].GetId()
	bSnap := env.Redis.HGet(ctx, key(b), "s").Val()
	env.Redis.HSet(ctx, key(a), "s", bSnap)
	env.Redis.Del(ctx, key(b))
	env.Redis.HSet(ctx, key(gone), "v", "9", "s", bSnap)
	if _, err := env.Pool.Exec(ctx, `UPDATE entities SET snapshot = (SELECT snapshot FROM entities WHERE id = $2) WHERE id = $1`, c, b); err != nil {
		t.Fatal(err)
	}
	if err := check(ctx); err == nil {
		t.Fatal("the corrupted copies are not visible: the test proves nothing")
	}
	out = rebuildOK(t, ctx, cli, "entities", changedTables)
	t.Logf("oof rebuild entities after corruption:\n%s", out)
	verify("after repairing")

	// The live projector goes on: an update reaches the table and the copy.
	up, err := w.update(w.host.ctx(ctx), a, aInt(7))
	wantCode(t, err, codes.OK)
	entEventually(t, "the copy of the update after the rebuild", func() bool {
		got := &gamepb.Entity{}
		vals := env.Redis.HMGet(ctx, key(a), "v", "s").Val()
		s, _ := vals[1].(string)
		return proto.Unmarshal([]byte(s), got) == nil && proto.Equal(got, up.GetEntity())
	})
}

func dumpArgs(t *testing.T, ctx context.Context, q string, args ...any) []string {
	t.Helper()
	rows, err := harness.DumpRows(ctx, env.Pool, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
