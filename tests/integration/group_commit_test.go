package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/oof-gg/platform/pkg/aggregate"
	"github.com/oof-gg/platform/pkg/apperr"
)

// Commands that commit together (pkg/aggregate's group commit) get the
// outcome each would have had alone: a create of a taken id, an update
// that lost its version race and an add past a counter's cap fail on their
// own, and every other command of the same group commits.
func TestGroupCommitFailsOnlyTheLosers(t *testing.T) {
	ctx := testCtx(t)
	_, pool := migratedDatabase(t, ctx, "group")
	store := aggregate.NewStore(pool)
	save := func(r aggregate.Record, expected int64) error {
		return store.InTx(ctx, func(tx aggregate.Tx) error { return tx.Save(ctx, r, expected) })
	}
	if err := save(aggregate.Record{Kind: aggregate.KindGame, ID: "shared", Owner: "u", Live: true, State: []byte("v1")}, 0); err != nil {
		t.Fatal(err)
	}

	const creates, dupes, updates, adds, capacity = 40, 10, 12, 20, 5
	type outcome struct {
		kind string
		err  error
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		start    = make(chan struct{})
		wg       sync.WaitGroup
	)
	run := func(kind string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f()
			mu.Lock()
			outcomes = append(outcomes, outcome{kind, err})
			mu.Unlock()
		}()
	}
	for i := range creates {
		run("create", func() error {
			return save(aggregate.Record{Kind: aggregate.KindGame, ID: fmt.Sprintf("g%d", i), Owner: "u", Live: true, State: []byte("s")}, 0)
		})
	}
	for i := range dupes { // each races the create of the same id
		run("dupe", func() error {
			return save(aggregate.Record{Kind: aggregate.KindGame, ID: fmt.Sprintf("g%d", i), Owner: "u", Live: true, State: []byte("s")}, 0)
		})
	}
	for i := range updates { // all from version 1: one wins
		run("update", func() error {
			return save(aggregate.Record{Kind: aggregate.KindGame, ID: "shared", Owner: "u", Live: true, State: []byte(fmt.Sprint(i))}, 1)
		})
	}
	for range adds {
		run("add", func() error {
			return store.InTx(ctx, func(tx aggregate.Tx) error {
				tx.AddChild(aggregate.KindGame, "shared", aggregate.KindSession, capacity, "full")
				return nil
			})
		})
	}
	close(start)
	wg.Wait()

	count := map[string]map[apperr.Kind]int{}
	for _, o := range outcomes {
		if count[o.kind] == nil {
			count[o.kind] = map[apperr.Kind]int{}
		}
		k := apperr.Kind(-1)
		if o.err != nil {
			var ae *apperr.Error
			if !errors.As(o.err, &ae) {
				t.Fatalf("%s failed with an unclassified error: %v", o.kind, o.err)
			}
			k = ae.Kind
		}
		count[o.kind][k]++
	}
	ok := apperr.Kind(-1)
	// A create and its dupe race for one id: exactly one of each pair wins.
	if won := count["create"][ok] + count["dupe"][ok]; won != creates {
		t.Errorf("%d creates committed, want %d (outcomes %v)", won, creates, count)
	}
	if lost := count["create"][apperr.KindAlreadyExists] + count["dupe"][apperr.KindAlreadyExists]; lost != dupes {
		t.Errorf("%d creates refused ALREADY_EXISTS, want %d (outcomes %v)", lost, dupes, count)
	}
	if count["update"][ok] != 1 || count["update"][apperr.KindAborted] != updates-1 {
		t.Errorf("updates from one version: %v, want 1 ok and %d aborted", count["update"], updates-1)
	}
	if count["add"][ok] != capacity || count["add"][apperr.KindResourceExhausted] != adds-capacity {
		t.Errorf("adds to a counter capped at %d: %v", capacity, count["add"])
	}

	// The write model holds exactly what was acknowledged.
	var games, version, live int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM command_aggregates WHERE kind = 'game' AND id LIKE 'g%'`).Scan(&games); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT version FROM command_aggregates WHERE kind = 'game' AND id = 'shared'`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT live FROM aggregate_children WHERE parent_id = 'shared'`).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if games != creates || version != 2 || live != capacity {
		t.Fatalf("write model: %d games (want %d), shared at version %d (want 2), counter %d (want %d)",
			games, creates, version, live, capacity)
	}
}

// A transaction that reads inside itself (a lock) still commits on its own
// connection, and sees the group's committed writes.
func TestLockingTransactionAfterGroup(t *testing.T) {
	ctx := testCtx(t)
	_, pool := migratedDatabase(t, ctx, "grouplock")
	store := aggregate.NewStore(pool)
	rec := aggregate.Record{Kind: aggregate.KindGame, ID: "locked", Owner: "u", Live: true, State: []byte("a")}
	if err := store.InTx(ctx, func(tx aggregate.Tx) error { return tx.Save(ctx, rec, 0) }); err != nil {
		t.Fatal(err)
	}
	err := store.InTx(ctx, func(tx aggregate.Tx) error {
		got, err := tx.Lock(ctx, aggregate.KindGame, "locked")
		if err != nil {
			return err
		}
		got.State = []byte("b")
		return tx.Save(ctx, got, got.Version)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Load(context.WithoutCancel(ctx), aggregate.KindGame, "locked")
	if err != nil || got.Version != 2 || string(got.State) != "b" {
		t.Fatalf("after a locked update: %+v, %v", got, err)
	}
}

// A command that loses to another of its own group (twins creating one id)
// is told so only after the winner committed: one by one, the winner would
// have committed first, and the loser's caller reads the winner's outcome
// right away (what an idempotent retry does).
func TestGroupCommitLoserSeesTheWinner(t *testing.T) {
	ctx := testCtx(t)
	_, pool := migratedDatabase(t, ctx, "grouptwins")
	store := aggregate.NewStore(pool)
	const rounds, twins = 200, 8
	for round := range rounds {
		id := fmt.Sprintf("twin%d", round)
		var wg sync.WaitGroup
		errs := make(chan error, twins)
		for range twins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := store.InTx(ctx, func(tx aggregate.Tx) error {
					return tx.Save(ctx, aggregate.Record{Kind: aggregate.KindGame, ID: id, Owner: "u", Live: true, State: []byte("s")}, 0)
				})
				if err == nil {
					return
				}
				if _, lerr := store.Load(ctx, aggregate.KindGame, id); lerr != nil {
					errs <- fmt.Errorf("round %d: told %v, but the winner is not readable: %v", round, err, lerr)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}
