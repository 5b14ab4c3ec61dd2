package main

import "testing"

// TestTrackerCheck: the exactly-once, in-order check counts each kind of
// fault, and a clean run as clean.
func TestTrackerCheck(t *testing.T) {
	// 4 players in 2 sessions: session 0 = {0, 2}, session 1 = {1, 3}.
	k := func(s, q int) rtKey { return rtKey{s, q} }
	clean := []rtKey{k(0, 0), k(2, 0), k(0, 1), k(2, 1)}
	for _, tc := range []struct {
		name   string
		member []rtKey // what player 2 received (player 0 gets clean)
		want   rtCheck
	}{
		{"clean", clean, rtCheck{}},
		{"lost", []rtKey{k(0, 0), k(2, 0), k(0, 1)}, rtCheck{lost: 1}},
		{"duplicated", append(append([]rtKey{}, clean...), k(0, 1)), rtCheck{duplicated: 1}},
		{"other session's event", append(append([]rtKey{}, clean...), k(1, 0)), rtCheck{alien: 1}},
		// 0.1 early: 2.0 then follows it against the reference, 0.0 against its sender.
		{"sender order", []rtKey{k(0, 1), k(2, 0), k(0, 0), k(2, 1)}, rtCheck{misordered: 2}},
		{"order differs between members", []rtKey{k(2, 0), k(0, 0), k(0, 1), k(2, 1)}, rtCheck{misordered: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(rtShape{players: 4, sessions: 2, rate: 1})
			tr.sent = [][]int{{0, 1}, {}, {0, 1}, {}}
			tr.recv[0].keys = clean
			tr.recv[2].keys = tc.member
			got := tr.check()
			got.sent, got.refused, got.deliveries = 0, 0, 0
			if got != tc.want {
				t.Fatalf("check = %+v, want %+v", got, tc.want)
			}
			if got.clean() != (tc.want == rtCheck{}) {
				t.Fatalf("clean() = %v", got.clean())
			}
		})
	}
}
