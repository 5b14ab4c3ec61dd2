package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/oof-gg/platform/tests/harness"
)

// Property: whatever a command accepts, every projector can store. Many
// random commands that pass validation (games, sessions, entities, players;
// optional fields present and absent, empty and maximal lists and maps,
// text from every Unicode plane, numeric extremes, plus deliberately
// unstorable text that must be refused) go through the real gRPC API of an
// isolated platform. Then: no dead letter, every projector caught up with
// the log, and every read model row equal to its write-model aggregate.
//
// OOF_PROPERTY_SEED replays a run (the seed is logged); OOF_PROPERTY_N sets
// how many commands are sent (default propDefaultN, spread over
// propWorkers concurrent workers, each with its own actors and aggregates
// and its own generator seeded from the run's seed).
func TestPropertyEveryAcceptedCommandReachesEveryReadModel(t *testing.T) {
	seed, n := propertyParams(t)
	t.Logf("property seed %d, %d commands (replay: OOF_PROPERTY_SEED=%d OOF_PROPERTY_N=%d)", seed, n, seed, n)

	in, err := harness.InfraFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	startCtx, cancelStart := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelStart()
	penv, err := harness.Start(startCtx, in)
	if err != nil {
		t.Fatalf("start an isolated platform: %v", err)
	}
	defer penv.Stop()

	runCtx, cancelRun := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancelRun()
	ctx, cancel := context.WithCancelCause(runCtx)
	defer cancel(nil)

	worlds := make([]*propWorld, propWorkers)
	for i := range worlds {
		worlds[i] = newPropWorld(t, penv, i, rand.New(rand.NewPCG(seed, uint64(i))))
	}
	// The actors' roles were set in the accounts directly (no event).
	requireCaughtUp(t, penv, 60*time.Second)
	setupRoles := accountDifferences(t, ctx, penv)

	// A stalled or dead-lettering projector fails the run as soon as it is
	// seen, instead of every later command waiting out its bounded wait.
	mon := startProjectionMonitor(ctx, penv, cancel)
	var wg sync.WaitGroup
	for i := range worlds {
		wg.Add(1)
		go func(w *propWorld, count int) {
			defer wg.Done()
			w.run(ctx, count)
		}(worlds[i], n/propWorkers+boolInt(i < n%propWorkers))
	}
	wg.Wait()
	if problem := mon.stop(); problem != "" {
		t.Fatalf("seed %d: %s", seed, problem)
	}
	total := map[string]int{}
	for _, w := range worlds {
		for k, v := range w.tally {
			total[k] += v
		}
	}
	logTally(t, total)
	if t.Failed() {
		t.Fatalf("seed %d: commands failed (see above)", seed)
	}

	requireCaughtUp(t, penv, 60*time.Second)
	requireNoDeadLetters(t, penv)
	checked := requireReadModelsEqualWriteModel(t, penv, setupRoles)
	sampleQueries(t, penv, worlds[0], rand.New(rand.NewPCG(seed, 1<<32)))
	t.Logf("compared %v aggregates with their read models", checked)
}

const (
	propDefaultN = 5000
	propWorkers  = 3
)

func propertyParams(t *testing.T) (seed uint64, n int) {
	seed = uint64(time.Now().UnixNano())
	if s := os.Getenv("OOF_PROPERTY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("OOF_PROPERTY_SEED=%q: %v", s, err)
		}
		seed = v
	}
	n = propDefaultN
	if s := os.Getenv("OOF_PROPERTY_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("OOF_PROPERTY_N=%q must be a positive integer", s)
		}
		n = v
	}
	return seed, n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// propCall is one generated command.
type propCall struct {
	op  string
	req proto.Message
	// invalid names the field a deliberately unstorable value (a NUL, or
	// bytes that are not UTF-8) is in: the command must answer
	// INVALID_ARGUMENT naming it.
	invalid string
	run     func(ctx context.Context, opts ...grpc.CallOption) (proto.Message, error)
	// ok updates the world from an accepted command's answer.
	ok func(resp proto.Message)
}

// refusedByRule are the answers of commands a rule (or a quota) refuses;
// they are counted. Anything else but OK (INTERNAL, UNKNOWN, UNAVAILABLE, ...) fails.
var refusedByRule = []codes.Code{codes.FailedPrecondition, codes.PermissionDenied, codes.NotFound, codes.AlreadyExists, codes.ResourceExhausted}

func (w *propWorld) run(ctx context.Context, count int) {
	for i := range count {
		if ctx.Err() != nil {
			w.t.Errorf("worker %d stopped at command %d of %d: %v", w.id, i, count, context.Cause(ctx))
			return
		}
		c := w.next()
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := c.run(callCtx)
		cancel()
		if ctx.Err() != nil {
			continue // the run was stopped (its cause is reported above)
		}
		if !w.judge(i, c, resp, err) && w.failures >= 5 {
			return
		}
	}
}

// judge checks one answer; false means the command failed the property.
func (w *propWorld) judge(i int, c *propCall, resp proto.Message, err error) bool {
	st, _ := status.FromError(err)
	switch {
	case err == nil && c.invalid == "":
		w.tally[c.op+" OK"]++
		c.ok(resp)
		return true
	case err == nil:
		return w.fail(i, c, "accepted unstorable text in "+c.invalid)
	case c.invalid != "" && st.Code() == codes.InvalidArgument && namesField(st, c.invalid):
		w.tally[c.op+" InvalidArgument"]++
		return true
	case c.invalid == "" && slices.Contains(refusedByRule, st.Code()):
		w.tally[c.op+" "+st.Code().String()]++
		return true
	}
	return w.fail(i, c, fmt.Sprintf("answered %v: %s", st.Code(), st.Message()))
}

func (w *propWorld) fail(i int, c *propCall, problem string) bool {
	w.failures++
	text := prototext.MarshalOptions{}.Format(c.req)
	if len(text) > 2000 {
		text = text[:2000] + "…"
	}
	w.t.Errorf("worker %d command %d %s %s\nrequest: %s", w.id, i, c.op, problem, text)
	return false
}

func namesField(st *status.Status, field string) bool {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

func logTally(t *testing.T, tally map[string]int) {
	keys := make([]string, 0, len(tally))
	for k := range tally {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("%6d  %s", tally[k], k)
	}
}
