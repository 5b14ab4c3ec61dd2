package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"sync"
	"time"
)

// scenario is one measured workload. Adding a scenario means writing one
// function that returns a scenario and listing it in scenarios().
type scenario struct {
	name string
	// concurrency is how many workers call op at once.
	concurrency int
	// setup prepares state (users, tokens, ...) before the clock starts; it
	// may be nil. Its own errors abort the scenario and count as one error.
	setup func(ctx context.Context) error
	// op is one measured call. worker is 0..concurrency-1; i counts the
	// worker's calls from 0 (warm-up calls included, so i is unique per worker
	// for the whole scenario).
	op func(ctx context.Context, worker, i int) error
	// rate, when > 0, paces the calls of all workers together at this many
	// per second (open loop); the wait for a call's slot is not measured.
	rate float64
	// goal describes the target for the table ("" = none).
	goal string
	// check decides whether the goal is met; prior holds the results of the
	// scenarios that ran before this one. nil = no goal.
	check func(r result, prior map[string]result) (met bool, detail string)
	// floor names an earlier scenario that does the same work as this one's
	// with no platform code (a minimal loop on the same infrastructure, in
	// the same run). The table shows this scenario's ops/s and p99 as
	// ratios of the floor's; minOpsRatio and maxP99Ratio, when > 0, are the
	// goal. Ratios, unlike absolute numbers, mean the same on any machine.
	floor       string
	minOpsRatio float64
	maxP99Ratio float64
	// drive, when set, replaces the closed loop of op: it runs the warm-up
	// from start and the measured window [from, until) itself and reports
	// what it measured (the live-event scenarios, whose latencies are taken
	// at the receivers, not around a call).
	drive func(ctx context.Context, start, from, until time.Time) driven
}

// driven is what a scenario's own drive measured.
type driven struct {
	lat      []time.Duration // one per measured op
	elapsed  time.Duration
	errors   int
	errTexts map[string]int
	notes    []string // extra lines printed under the table
	// ops, when > 0, is the count of what was measured instead of
	// len(lat) (throughput scenarios that time one long run, no calls).
	ops int
}

// withCommandGoal gives a command scenario issue 6's goal, the one all
// commands share: through the whole pipeline (commit, log, projection,
// read-your-writes) at least 0.3× the raw PostgreSQL insert+commit rate at
// the same concurrency, with p99 at most 10× that loop's.
func (s scenario) withCommandGoal() scenario {
	s.goal = "≥ 0.3× floor ops/s, p99 ≤ 10× floor p99 (each call waits for its projection)"
	s.floor, s.minOpsRatio, s.maxP99Ratio = namePGFloor, 0.3, 10
	return s
}

// result is what one scenario measured.
type result struct {
	name     string
	ops      int           // successful measured calls
	errors   int           // failed calls, warm-up included (and setup failures)
	elapsed  time.Duration // from the end of the warm-up to the last measured call's end
	lat      []time.Duration
	errTexts map[string]int // distinct error messages and how often they happened
	goal     string
	met      string // "PASS", "MISS", "" (no goal); with detail appended
	missed   bool
	floor    string   // the floor it was measured against, if any
	opsRatio float64  // ops/s ÷ the floor's (0: no floor)
	p99Ratio float64  // p99 ÷ the floor's
	skipped  string   // set when setup failed
	cpu      cpuUse   // CPUs in use during the measured window
	notes    []string // extra lines printed under the table (driven scenarios)
}

func (r result) opsPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

// percentile returns the q-quantile (0..1) of the sorted latencies, by the
// nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func (r result) p(q float64) time.Duration { return percentile(r.lat, q) }

// callTimeout bounds one call, so a hung server shows up as an error instead
// of a hung benchmark.
const callTimeout = 30 * time.Second

// maxErrTexts bounds how many distinct error messages are kept per scenario.
const maxErrTexts = 20

type workerStats struct {
	lat    []time.Duration
	errs   map[string]int
	nErr   int
	lastAt time.Time
}

// run drives s: setup, a wait for the machine to settle, then concurrency
// workers call op in a closed loop for o.warmup (not recorded) plus
// o.duration (recorded). A call counts when it started inside the measured
// window.
func run(ctx context.Context, s scenario, o options) result {
	r := result{name: s.name, goal: s.goal, errTexts: map[string]int{}}
	if s.setup != nil {
		if err := s.setup(ctx); err != nil {
			r.errors = 1
			r.errTexts["setup: "+err.Error()] = 1
			r.skipped = "setup failed"
			return r
		}
	}
	if o.settle > 0 && !settle(ctx, o.settle) {
		fmt.Fprintf(os.Stderr, "oofbench: %s: the machine is still busy after %v; measuring anyway\n", s.name, o.settle)
	}
	warmup, duration := o.warmup, o.duration
	conc := max(1, s.concurrency)
	start := time.Now()
	measureFrom := start.Add(warmup)
	measureUntil := measureFrom.Add(duration)
	stats := make([]workerStats, conc)
	cpuStart := make(chan cpuSample, 1)
	time.AfterFunc(time.Until(measureFrom), func() { cpuStart <- sampleCPUServices() })
	if s.drive != nil {
		d := s.drive(ctx, start, measureFrom, measureUntil)
		r.cpu = (<-cpuStart).until(sampleCPUServices())
		r.lat, r.elapsed, r.errors, r.notes = d.lat, d.elapsed, d.errors, d.notes
		for msg, n := range d.errTexts {
			r.errTexts[msg] += n
		}
		slices.Sort(r.lat)
		r.ops = len(r.lat)
		if d.ops > 0 {
			r.ops = d.ops
		}
		return r
	}
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &stats[w]
			st.errs = map[string]int{}
			for i := 0; ; i++ {
				if s.rate > 0 {
					// Worker w owns every conc-th slot of the shared schedule.
					slot := start.Add(time.Duration(float64(i*conc+w) / s.rate * float64(time.Second)))
					if d := time.Until(slot); d > 0 {
						time.Sleep(d)
					}
				}
				t0 := time.Now()
				if !t0.Before(measureUntil) || ctx.Err() != nil {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				err := s.op(cctx, w, i)
				cancel()
				t1 := time.Now()
				if err != nil { // warm-up failures count too: every error is reported
					st.nErr++
					if msg := err.Error(); len(st.errs) < maxErrTexts || st.errs[msg] > 0 {
						st.errs[msg]++
					}
				}
				if t0.Before(measureFrom) {
					continue
				}
				st.lastAt = t1
				if err == nil {
					st.lat = append(st.lat, t1.Sub(t0))
				}
			}
		}()
	}
	wg.Wait()
	r.cpu = (<-cpuStart).until(sampleCPUServices())
	last := measureFrom
	for _, st := range stats {
		r.lat = append(r.lat, st.lat...)
		r.errors += st.nErr
		for msg, n := range st.errs {
			if len(r.errTexts) < maxErrTexts || r.errTexts[msg] > 0 {
				r.errTexts[msg] += n
			}
		}
		if st.lastAt.After(last) {
			last = st.lastAt
		}
	}
	if ctx.Err() != nil {
		r.errors++
		r.errTexts[fmt.Sprintf("interrupted: %v", ctx.Err())]++
	}
	slices.Sort(r.lat)
	r.ops = len(r.lat)
	r.elapsed = last.Sub(measureFrom)
	return r
}

// judge fills in the floor and goal columns of r.
func judge(s scenario, r *result, prior map[string]result) {
	if r.skipped != "" || (s.check == nil && s.floor == "") {
		return
	}
	met, detail := true, ""
	if s.floor != "" {
		fl, ok := prior[s.floor]
		if !ok || fl.opsPerSec() == 0 || (s.maxP99Ratio > 0 && fl.p(0.99) <= 0) {
			r.met = "— (floor not measured: run " + s.floor + " too)"
			return
		}
		r.floor = s.floor
		r.opsRatio = r.opsPerSec() / fl.opsPerSec()
		if fl.p(0.99) > 0 { // throughput-only floors have no latencies
			r.p99Ratio = float64(r.p(0.99)) / float64(fl.p(0.99))
		}
		if s.minOpsRatio > 0 && r.opsRatio < s.minOpsRatio {
			met = false
		}
		if s.maxP99Ratio > 0 && r.p99Ratio > s.maxP99Ratio {
			met = false
		}
	}
	if s.check == nil && s.minOpsRatio == 0 && s.maxP99Ratio == 0 {
		return // ratios shown, no goal
	}
	if s.check != nil {
		var ok bool
		ok, detail = s.check(*r, prior)
		met = met && ok
	}
	r.met, r.missed = "PASS", !met
	if !met {
		r.met = "MISS"
	}
	if detail != "" {
		r.met += " (" + detail + ")"
	}
}

// sortedErrTexts lists r's error messages, most frequent first.
func sortedErrTexts(r result) []string {
	msgs := make([]string, 0, len(r.errTexts))
	for m := range r.errTexts {
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool {
		if r.errTexts[msgs[i]] != r.errTexts[msgs[j]] {
			return r.errTexts[msgs[i]] > r.errTexts[msgs[j]]
		}
		return msgs[i] < msgs[j]
	})
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%d× %s", r.errTexts[m], m)
	}
	return out
}
