package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(lat, c.q); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -20000: "-20,000"} {
		if got := fmtInt(in); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", in, got, want)
		}
	}
	if got := fmtDur(1500 * time.Microsecond); got != "1.50ms" {
		t.Errorf("fmtDur = %q", got)
	}
}

func TestTableMarksErrorsAndGoals(t *testing.T) {
	r := result{name: "X", ops: 10, errors: 2, elapsed: time.Second, lat: []time.Duration{time.Millisecond}, goal: "≥ 5/s"}
	s := scenario{check: func(r result, _ map[string]result) (bool, string) { return r.opsPerSec() >= 5, "" }}
	judge(s, &r, nil)
	out := table([]result{r})
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 3 {
		t.Fatalf("table:\n%s", out)
	}
	var cells []string
	for _, c := range strings.Split(strings.Trim(rows[2], "|"), "|") {
		cells = append(cells, strings.TrimSpace(c))
	}
	want := []string{"X", "10", "10.0", "1.00ms", "1.00ms", "2", "—", "—", "—", "≥ 5/s", "PASS"}
	if strings.Join(cells, ";") != strings.Join(want, ";") {
		t.Fatalf("row %q, want %q\n%s", cells, want, out)
	}
}

// tableRow renders r alone and returns its cells.
func tableRow(t *testing.T, r result) []string {
	t.Helper()
	rows := strings.Split(strings.TrimSpace(table([]result{r})), "\n")
	if len(rows) != 3 {
		t.Fatalf("table:\n%s", strings.Join(rows, "\n"))
	}
	var cells []string
	for _, c := range strings.Split(strings.Trim(rows[2], "|"), "|") {
		cells = append(cells, strings.TrimSpace(c))
	}
	return cells
}

func TestJudgeAgainstFloor(t *testing.T) {
	ms := time.Millisecond
	floor := result{name: "F", ops: 100, elapsed: time.Second, lat: []time.Duration{ms, 2 * ms}}
	prior := map[string]result{"F": floor}
	s := scenario{floor: "F", minOpsRatio: 0.3, maxP99Ratio: 10}
	cases := []struct {
		name    string
		ops     int
		p99     time.Duration
		prior   map[string]result
		wantMet string
		ratios  [2]string
	}{
		{"both goals met", 40, 10 * ms, prior, "PASS", [2]string{"0.40×", "5.0×"}},
		{"too slow", 20, 10 * ms, prior, "MISS", [2]string{"0.20×", "5.0×"}},
		{"tail too long", 40, 30 * ms, prior, "MISS", [2]string{"0.40×", "15×"}},
		{"floor not run", 40, 10 * ms, nil, "— (floor not measured: run F too)", [2]string{"—", "—"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := result{name: "X", ops: tc.ops, elapsed: time.Second, lat: []time.Duration{ms, tc.p99}}
			judge(s, &r, tc.prior)
			cells := tableRow(t, r)
			if cells[10] != tc.wantMet || cells[7] != tc.ratios[0] || cells[8] != tc.ratios[1] {
				t.Fatalf("row %q: want met %q, ratios %v", cells, tc.wantMet, tc.ratios)
			}
		})
	}
}
