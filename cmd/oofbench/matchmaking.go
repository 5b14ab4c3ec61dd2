package main

// The matchmaker under a deep queue: -mm-waiting tickets wait in a pool
// that can never form a group (one team only: with teams, a queue of one
// team waits for others), so every round of the platform's matchmaker
// (-target=all runs one) reads past them; meanwhile -mm-callers players
// each JOIN the queue of a 4-player game through GameService.JoinLeave and
// wait until their ticket is matched, then JOIN again. One op = one ticket
// from JOIN to placed in a started session.
//
// The waiting tickets are put straight into the Redis ticket store with
// command/matchmaking's own Tickets.Join (10,000 JoinLeave calls would
// stage 10,000 outbox events first), with a 10-minute TTL so they outlive
// the run without heartbeats. The bench learns a ticket is placed by
// polling Tickets.Get every 10 ms (WatchQueue polls every 250 ms).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	gamepb "github.com/oof-gg/platform/api/gen/v1/api/game"
	stdpb "github.com/oof-gg/platform/api/gen/v1/std"
	"github.com/oof-gg/platform/command/matchmaking"
)

const nameMatch = "matchmaker: ticket → match"

var (
	mmCallers = flag.Int("mm-callers", 64, "matchmaker: players queueing at once (each waits for its match, then queues again)")
	mmWaiting = flag.Int("mm-waiting", 10_000, "matchmaker: tickets waiting in an unmatchable pool throughout")
)

func matchmakerPlacement(b *bench) scenario {
	var (
		tickets *matchmaking.Tickets
		players []rtPlayer
		game    string
	)
	return scenario{
		name:        nameMatch,
		concurrency: *mmCallers,
		setup: func(ctx context.Context) error {
			if *mmCallers < 1 || *mmWaiting < 0 {
				return errors.New("-mm-callers ≥ 1 and -mm-waiting ≥ 0")
			}
			cfg := b.env.Cfg
			tickets = &matchmaking.Tickets{Redis: b.env.Redis, Prefix: cfg.RedisKeyPrefix, TTL: 10 * time.Minute, Now: time.Now}
			f, err := b.sessionFixture(ctx, "mmd", 0)
			if err != nil {
				return err
			}
			var ids []string
			for i, size := range []string{"4", "4"} {
				resp, err := b.games(0).CreateGame(f.with(ctx), &gamepb.GameCreateRequest{
					Name: fmt.Sprintf("bench mm %s %d", b.runID, i), MaxSessions: ptr("1000000"), MaxPlayersPerSession: ptr(size)})
				if err != nil {
					return err
				}
				ids = append(ids, resp.GetSingleGame().GetId())
			}
			game = ids[0]
			if err := fillQueue(ctx, tickets, ids[1], *mmWaiting); err != nil {
				return err
			}
			players, err = b.rtPlayers(ctx, "mm", *mmCallers)
			return err
		},
		op: func(ctx context.Context, w, _ int) error {
			resp, err := b.games(w).JoinLeave(players[w].with(ctx), &gamepb.JoinLeaveGame{
				UserId: players[w].id, GameId: game, Action: gamepb.JoinLeaveGame_JOIN})
			if err != nil {
				return err
			}
			id := resp.GetSession().GetId()
			for {
				tk, err := tickets.Get(ctx, id)
				if err != nil {
					return err
				}
				switch tk.State {
				case matchmaking.StateMatched:
					return nil
				case matchmaking.StateCancelled, matchmaking.StateExpired:
					return fmt.Errorf("ticket %s", tk.State)
				}
				select {
				case <-time.After(10 * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		},
		goal: "— (tickets placed/s; latency = JOIN → matched)",
	}
}

// fillQueue queues n tickets of one team in game's unspecified-region
// pool, 32 at a time.
func fillQueue(ctx context.Context, t *matchmaking.Tickets, game string, n int) error {
	errs := make([]error, 32)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n && errs[w] == nil; i += 32 {
				_, _, errs[w] = t.Join(ctx, uuid.NewString(), uuid.NewString(), game, stdpb.RegionEnum_REGION_UNSPECIFIED, "red")
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
