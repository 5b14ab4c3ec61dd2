package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	eventspb "github.com/oof-gg/platform/api/gen/oof/events/v1"
	commonpb "github.com/oof-gg/platform/api/gen/v1/api/common"
	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	"github.com/oof-gg/platform/command/kit"
	"github.com/oof-gg/platform/pkg/eventlog"
	"github.com/oof-gg/platform/pkg/routing"
	"github.com/oof-gg/platform/tests/harness"
)

// Several command processes on one database each run a relay: every event
// still reaches the log exactly once, each game's events in version order,
// even when its updates go through different processes; and each process's
// read-your-writes holds whoever relayed its rows.
func TestSeveralRelaysKeepOrderAndSendOnce(t *testing.T) {
	ctx := testCtx(t)
	dev := signInAs(t, ctx, "developer")
	var clients []commonpb.GameServiceClient
	for range 2 {
		run, err := env.RunPlatform(ctx, env.Cfg, routing.TargetCommand)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, commonpb.NewGameServiceClient(dialPlatform(t, run.GRPCAddr)))
	}
	clients = append(clients, games()) // the main platform's relay takes part too

	const gamesN, updates = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, gamesN)
	ids := make([]string, gamesN)
	for g := range gamesN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- playGame(dev.ctx(ctx), clients, g, updates, &ids[g])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var versions map[string][]int64
	seen := map[string]bool{}
	waitFor(t, func() bool {
		records, err := harness.ReadTopic(ctx, env.Kafka, env.Topic("oof.game.v1"))
		if err != nil {
			t.Fatal(err)
		}
		versions, seen = map[string][]int64{}, map[string]bool{}
		for _, m := range records {
			if !want[string(m.Key)] {
				continue
			}
			envl, err := eventlog.FromRecord(m)
			if err != nil {
				t.Fatal(err)
			}
			if seen[envl.ID] {
				t.Fatalf("event %s is on the log twice", envl.ID)
			}
			seen[envl.ID] = true
			versions[string(m.Key)] = append(versions[string(m.Key)], gameEventVersion(t, envl))
		}
		return len(seen) == gamesN*(1+updates)
	})
	for id, vs := range versions {
		for i, v := range vs {
			if v != int64(i+1) {
				t.Fatalf("game %s: versions on the log %v, want 1..%d in order", id, vs, 1+updates)
			}
		}
	}
}

// playGame creates a game through one process and updates it through the
// others in turn, each answer fresh: read-your-writes held.
func playGame(ctx context.Context, clients []commonpb.GameServiceClient, g, updates int, id *string) error {
	var md metadata.MD
	created, err := clients[g%len(clients)].CreateGame(ctx, &gamepb.GameCreateRequest{Name: fmt.Sprintf("relay race %d %s", g, uniqueName("g"))}, grpc.Header(&md))
	if err != nil {
		return err
	}
	*id = created.GetSingleGame().GetId()
	if c := first(md.Get(kit.ConsistencyHeader)); c != kit.ConsistencyFresh {
		return fmt.Errorf("create: consistency %q", c)
	}
	for u := range updates {
		md = nil
		c := clients[(g+u+1)%len(clients)]
		// Each update expects the version before it, so they serialize.
		out := metadata.AppendToOutgoingContext(ctx, kit.ExpectedVersionHeader, fmt.Sprint(u+1))
		_, err := c.UpdateGame(out, &gamepb.GameUpdateRequest{Id: *id, Name: fmt.Sprintf("round %d", u)}, grpc.Header(&md))
		if err != nil {
			return fmt.Errorf("update %d of game %d: %w", u, g, err)
		}
		if c := first(md.Get(kit.ConsistencyHeader)); c != kit.ConsistencyFresh {
			return fmt.Errorf("update %d: consistency %q", u, c)
		}
	}
	return nil
}

func gameEventVersion(t *testing.T, e eventlog.Envelope) int64 {
	t.Helper()
	msg, err := e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	switch m := msg.(type) {
	case *eventspb.GameCreated:
		return m.GetVersion()
	case *eventspb.GameUpdated:
		return m.GetVersion()
	}
	t.Fatalf("unexpected %s on the game topic", e.Type)
	return 0
}
