package main

// The bookkeeping the live-event scenario and its relay floor share: the
// shape (players × sessions × rate), the paced senders, what every member
// received, and the check that every member got every event of its session
// exactly once and in the same order as every other member.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// rtShape is how many players, in how many sessions, each sending how many
// events per second. Player p is in session p % sessions.
type rtShape struct {
	players, sessions int
	rate              float64
}

func (s rtShape) session(p int) int { return p % s.sessions }

// members lists the players of session i.
func (s rtShape) members(i int) []int {
	var out []int
	for p := i; p < s.players; p += s.sessions {
		out = append(out, p)
	}
	return out
}

func (s rtShape) perSession() int { return (s.players + s.sessions - 1) / s.sessions }

func (s rtShape) String() string {
	return fmt.Sprintf("%d players in %d sessions at %g events/s each", s.players, s.sessions, s.rate)
}

// rtKey names one event: its sender and the sender's sequence number.
type rtKey struct{ sender, seq int }

// rtMember is what one member received, written only by its receiver.
type rtMember struct {
	keys []rtKey
	lat  []time.Duration
}

// rtTracker records one run. Every slice is indexed by player and written
// by one goroutine only (the player's sender or its receiver), so no locks
// are needed until the run has ended.
type rtTracker struct {
	shape       rtShape
	start       time.Time // the senders' start (warm-up included)
	from, until time.Time // the measured window (by send time)

	sent    [][]int // seqs the transport accepted, per sender
	refused [][]int // seqs the platform refused, per sender (seen by the sender's receiver)
	recv    []rtMember

	expected  atomic.Int64 // deliveries owed: Σ accepted events × members of their session
	delivered atomic.Int64

	errMu    sync.Mutex
	nErr     int
	errTexts map[string]int
}

func newTracker(shape rtShape) *rtTracker {
	return &rtTracker{shape: shape, sent: make([][]int, shape.players), refused: make([][]int, shape.players),
		recv: make([]rtMember, shape.players), errTexts: map[string]int{}}
}

func (t *rtTracker) fail(err error) {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	t.nErr++
	if msg := err.Error(); len(t.errTexts) < maxErrTexts || t.errTexts[msg] > 0 {
		t.errTexts[msg]++
	}
}

// got records that member received sender's event seq, stamped sentNanos
// (unix ns) by the sender. Latency counts for other members' events sent
// in the measured window.
func (t *rtTracker) got(member, sender, seq int, sentNanos int64) {
	now := time.Now()
	m := &t.recv[member]
	m.keys = append(m.keys, rtKey{sender, seq})
	sent := time.Unix(0, sentNanos)
	if sender != member && !sent.Before(t.from) && sent.Before(t.until) {
		m.lat = append(m.lat, now.Sub(sent))
	}
	t.delivered.Add(1)
}

// refusedEvent records that the platform refused sender's event seq.
func (t *rtTracker) refusedEvent(sender, seq int, why string) {
	t.refused[sender] = append(t.refused[sender], seq)
	t.expected.Add(-int64(len(t.shape.members(t.shape.session(sender)))))
	t.fail(fmt.Errorf("refused: %s", why))
}

// sendLoop paces player p's events from start until until at the shape's
// rate (open loop: a late send goes out at once, none is skipped), spread
// over the interval so the players do not send in lockstep. send gets the
// sequence number and the send time to stamp.
func (t *rtTracker) sendLoop(ctx context.Context, p int, start time.Time, send func(seq int, at time.Time) error) {
	every := time.Duration(float64(time.Second) / t.shape.rate)
	phase := time.Duration(int64(every) * int64(p) / int64(t.shape.players))
	members := int64(len(t.shape.members(t.shape.session(p))))
	for seq := 0; ; seq++ {
		slot := start.Add(phase + time.Duration(seq)*every)
		if !slot.Before(t.until) || ctx.Err() != nil {
			return
		}
		if d := time.Until(slot); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		// Owed before the send: a fast delivery must not find it missing.
		t.expected.Add(members)
		if err := send(seq, time.Now()); err != nil {
			t.expected.Add(-members)
			t.fail(err)
			return
		}
		t.sent[p] = append(t.sent[p], seq)
	}
}

// drain waits until every owed delivery arrived, or for at most limit.
func (t *rtTracker) drain(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for t.delivered.Load() < t.expected.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// rtCheck is the outcome of comparing what was sent with what arrived.
type rtCheck struct {
	sent, refused, deliveries           int
	lost, duplicated, misordered, alien int
}

func (c rtCheck) clean() bool { return c.lost+c.duplicated+c.misordered+c.alien == 0 }

// check compares, session by session, every member's received sequence
// with the events its session's members sent: each accepted event exactly
// once (lost, duplicated; alien = an event of another session or never
// sent), each sender's events in send order, and every member in the order
// of the session's first member (misordered). Call it after the run.
func (t *rtTracker) check() rtCheck {
	var c rtCheck
	for s := range t.shape.sessions {
		members := t.shape.members(s)
		want := map[rtKey]bool{}
		for _, p := range members {
			refused := map[int]bool{}
			for _, seq := range t.refused[p] {
				refused[seq] = true
			}
			c.refused += len(refused)
			for _, seq := range t.sent[p] {
				c.sent++
				if !refused[seq] {
					want[rtKey{p, seq}] = true
				}
			}
		}
		var refPos map[rtKey]int
		for i, m := range members {
			seen := map[rtKey]int{}
			var order []rtKey // first arrivals, in order
			for _, k := range t.recv[m].keys {
				c.deliveries++
				seen[k]++
				switch {
				case !want[k]:
					c.alien++
				case seen[k] > 1:
					c.duplicated++
				default:
					order = append(order, k)
				}
			}
			for k := range want {
				if seen[k] == 0 {
					c.lost++
				}
			}
			if i == 0 {
				refPos = make(map[rtKey]int, len(order))
				for j, k := range order {
					refPos[k] = j
				}
			}
			c.misordered += misordered(order, refPos)
		}
	}
	return c
}

// misordered counts arrivals out of order: a sender's event before an
// earlier one of the same sender, or an event the reference member got
// before the previous one.
func misordered(order []rtKey, refPos map[rtKey]int) int {
	n := 0
	last := map[int]int{}
	prev := -1
	for _, k := range order {
		if l, ok := last[k.sender]; ok && k.seq < l {
			n++
		} else if pos, ok := refPos[k]; ok && pos < prev {
			n++
		}
		last[k.sender] = max(last[k.sender], k.seq)
		if pos, ok := refPos[k]; ok {
			prev = pos
		}
	}
	return n
}

// result turns the run into the scenario's measurement: one op per
// delivery to another member of an event sent in the window.
func (t *rtTracker) result(what string) (driven, rtCheck) {
	c := t.check()
	var lat []time.Duration
	for _, m := range t.recv {
		lat = append(lat, m.lat...)
	}
	slices.Sort(lat)
	window := t.until.Sub(t.from)
	d := driven{lat: lat, elapsed: window, errors: t.nErr, errTexts: t.errTexts}
	d.notes = []string{
		fmt.Sprintf("%s, %s: %s events sent (%.0f/s), %s refused; %s deliveries to other members of events sent in the %v window (%s/s)",
			what, t.shape, fmtInt(c.sent), float64(c.sent)/t.until.Sub(t.start).Seconds(), fmtInt(c.refused),
			fmtInt(len(lat)), window, fmtRate(float64(len(lat))/window.Seconds())),
		fmt.Sprintf("sender → receiver latency: p50 %s, p99 %s, p99.9 %s, max %s",
			fmtDur(percentile(lat, 0.5)), fmtDur(percentile(lat, 0.99)), fmtDur(percentile(lat, 0.999)), fmtDur(percentile(lat, 1))),
		fmt.Sprintf("lost %d, duplicated %d, misordered %d, alien %d (of %s deliveries owed, warm-up included)",
			c.lost, c.duplicated, c.misordered, c.alien, fmtInt(int(t.expected.Load()))),
	}
	return d, c
}
