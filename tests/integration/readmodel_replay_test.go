package integration

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/tests/harness"
)

// readModels are the projected tables and how to dump them comparably.
// Trending scores are sums of floats taken in a partition-interleaving
// order, so they are compared rounded.
var readModels = map[string]string{
	"users":         `SELECT row_to_json(t)::text FROM users t ORDER BY id`,
	"games":         `SELECT row_to_json(t)::text FROM games t ORDER BY id`,
	"sessions":      `SELECT row_to_json(t)::text FROM sessions t ORDER BY id`,
	"match_history": `SELECT row_to_json(t)::text FROM match_history t ORDER BY session_id`,
	"entities":      `SELECT row_to_json(t)::text FROM entities t ORDER BY id`,
	"players":       `SELECT row_to_json(t)::text FROM players t ORDER BY id`,
	"game_trend":    `SELECT game_id || ' ' || round(log_score::numeric, 6) || ' ' || events FROM game_trend ORDER BY game_id`,
}

// The read models built live equal those a fresh set of projectors builds by
// replaying every topic from offset 0 into an empty schema.
func TestReadModelsEqualFreshReplay(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	for i := range 3 {
		g := newGame(t, ctx, dev, &gamepb.GameCreateRequest{})
		s, _ := newSession(t, ctx, dev, g.GetId(), "u1", fmt.Sprint("u", i+2))
		for _, st := range []gamepb.GameState{gamepb.GameState_STATE_STARTED, gamepb.GameState_STATE_FINISHED} {
			if _, err := games().UpdateSession(dev.ctx(ctx), &gamepb.SessionUpdate{Id: s.GetId(), State: st}); err != nil {
				t.Fatal(err)
			}
		}
	}
	live := waitLiveCaughtUp(t, ctx)

	url, err := env.CreateDatabase(ctx, "replay")
	if err != nil {
		t.Fatal(err)
	}
	cfg := env.Cfg
	cfg.PostgresURL = url
	cfg.ProjectorGroupPrefix = "replay" + harness.RandomID(3) + "."
	cfg.RedisKeyPrefix = env.Cfg.RedisKeyPrefix + "replay:"
	if _, err := env.StartPlatform(ctx, cfg, routing.TargetProjector); err != nil {
		t.Fatal(err)
	}
	replay, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	waitOffsets(t, ctx, replay, live)

	for table, q := range readModels {
		a, b := dump(t, ctx, env.Pool, q), dump(t, ctx, replay, q)
		if len(a) == 0 {
			t.Fatalf("%s: live read model is empty; the comparison proves nothing", table)
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s: live (%d rows) differs from replay (%d rows)", table, len(a), len(b))
		}
	}
}

type offsetKey struct {
	projector, topic string
	partition        int32
}

func offsets(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[offsetKey]int64 {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT projector, topic, partition, next_offset FROM projector_offsets`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[offsetKey]int64{}
	for rows.Next() {
		var k offsetKey
		var next int64
		if err := rows.Scan(&k.projector, &k.topic, &k.partition, &next); err != nil {
			t.Fatal(err)
		}
		out[k] = next
	}
	return out
}

// waitLiveCaughtUp waits until every live projector has applied its topics
// to their current end, and returns the offsets.
func waitLiveCaughtUp(t *testing.T, ctx context.Context) map[offsetKey]int64 {
	t.Helper()
	var got map[offsetKey]int64
	waitFor(t, func() bool {
		got = offsets(t, ctx, env.Pool)
		for k, next := range got {
			end := topicEnd(t, k.topic)[k.partition]
			if next < end {
				return false
			}
		}
		return len(got) > 0
	})
	return got
}

func waitOffsets(t *testing.T, ctx context.Context, pool *pgxpool.Pool, want map[offsetKey]int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := offsets(t, ctx, pool)
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay offsets %v never reached live offsets %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dump(t *testing.T, ctx context.Context, pool *pgxpool.Pool, q string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}
