package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/oof-gg/platform/pkg/config"
)

// printReport writes the machine, the settings and the Markdown table.
func printReport(w io.Writer, o options, hp config.PasswordHashConfig, results []result) {
	fmt.Fprintf(w, "\n## oofbench %s\n\n", time.Now().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- CPU: %s (%d logical CPUs)\n", cpuModel(), runtime.NumCPU())
	fmt.Fprintf(w, "- GOMAXPROCS: %d\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- argon2id: m=%d KiB, t=%d, p=%d\n", hp.MemoryKiB, hp.Iterations, hp.Parallelism)
	fmt.Fprintf(w, "- per scenario: %v warm-up + %v measured; %d gRPC connections; client and platform in one process\n\n",
		o.warmup, o.duration, o.conns)
	fmt.Fprint(w, table(results))
	fmt.Fprint(w, cpuTable(results))
	for _, r := range results {
		if len(r.notes) > 0 {
			fmt.Fprintf(w, "\n%s:\n", r.name)
			for _, n := range r.notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
		}
	}

	for _, r := range results {
		if r.errors == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s errors (%d):\n", r.name, r.errors)
		for _, line := range sortedErrTexts(r) {
			fmt.Fprintf(w, "- %s\n", line)
		}
	}
}

// table renders results as an aligned Markdown table.
func table(results []result) string {
	rows := [][]string{{"scenario", "ops", "ops/s", "p50", "p99", "errors", "floor", "ops/s ÷ floor", "p99 ÷ floor", "goal", "met?"}}
	for _, r := range results {
		floor, opsRatio, p99Ratio := "—", "—", "—"
		if r.floor != "" {
			floor, opsRatio, p99Ratio = r.floor, fmtRatio(r.opsRatio), fmtRatio(r.p99Ratio)
			if r.p99Ratio == 0 {
				p99Ratio = "—"
			}
		}
		row := []string{r.name, fmtInt(r.ops), fmtRate(r.opsPerSec()), fmtDur(r.p(0.50)), fmtDur(r.p(0.99)),
			fmtInt(r.errors), floor, opsRatio, p99Ratio, r.goal, r.met}
		if r.skipped != "" {
			row = []string{r.name, "—", "—", "—", "—", fmtInt(r.errors), "—", "—", "—", r.goal, r.skipped}
		}
		if row[10] == "" {
			row[10] = "—"
		}
		rows = append(rows, row)
	}
	return markdown(rows, map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 7: true, 8: true})
}

// fmtRatio shows a ratio with two significant decimals: 0.42×, 3.1×, 12×.
func fmtRatio(v float64) string {
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	default:
		return strconv.FormatFloat(v, 'f', 0, 64) + "×"
	}
}

// cpuTable shows how busy the machine was during each measurement, so a
// noisy neighbour or a hungry broker is visible next to the numbers.
func cpuTable(results []result) string {
	head := []string{"scenario", "oofbench (client + platform)"}
	head = append(head, serviceNames[:]...)
	head = append(head, "other", "idle", "steal", "ops/s per oofbench CPU", "CPU ms per op")
	rows := [][]string{head}
	n := float64(runtime.NumCPU())
	cpus := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	for _, r := range results {
		if !r.cpu.ok {
			continue
		}
		row := []string{r.name, cpus(r.cpu.self)}
		for _, v := range r.cpu.services {
			row = append(row, cpus(v))
		}
		row = append(row, cpus(r.cpu.otherCPU()), cpus(max(0, n-r.cpu.self-r.cpu.others-r.cpu.steal)),
			cpus(r.cpu.steal), perCPU(r), msPerOp(r))
		rows = append(rows, row)
	}
	if len(rows) == 1 {
		return ""
	}
	numeric := map[int]bool{}
	for i := 1; i < len(head); i++ {
		numeric[i] = true
	}
	return fmt.Sprintf("\nCPUs in use during each measurement, of %d: this process, each service's processes, and anything else\n"+
		"(a busy `other` during the raw hash rate makes the Login ratio unreliable). CPU ms per op = (oofbench + services) ÷ ops/s:\n\n", int(n)) +
		markdown(rows, numeric)
}

// msPerOp is the CPU time one operation cost this process and the
// services together: the number a 2-core machine's throughput is bound by.
func msPerOp(r result) string {
	ops := r.opsPerSec()
	if ops <= 0 {
		return "—"
	}
	used := r.cpu.self
	for _, v := range r.cpu.services {
		used += v
	}
	return strconv.FormatFloat(used/ops*1000, 'f', 3, 64)
}

// perCPU is throughput per CPU this process used: less sensitive than ops/s
// to other load on the machine (it still includes the client's own work).
func perCPU(r result) string {
	if r.cpu.self <= 0 {
		return "—"
	}
	return fmtRate(r.opsPerSec() / r.cpu.self)
}

// markdown renders rows (the first is the header) as an aligned Markdown
// table; numeric columns are right-aligned.
func markdown(rows [][]string, numeric map[int]bool) string {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var sb strings.Builder
	line := func(row []string) {
		sb.WriteString("|")
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if numeric[i] {
				sb.WriteString(" " + pad + c + " |")
			} else {
				sb.WriteString(" " + c + pad + " |")
			}
		}
		sb.WriteString("\n")
	}
	line(rows[0])
	sb.WriteString("|")
	for i, wd := range widths {
		dashes := strings.Repeat("-", max(3, wd))
		if numeric[i] {
			dashes = dashes[1:] + ":"
		}
		sb.WriteString(" " + dashes + " |")
	}
	sb.WriteString("\n")
	for _, row := range rows[1:] {
		line(row)
	}
	return sb.String()
}

// fmtInt writes n with thousands separators.
func fmtInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fmtRate shows rates below 100/s with one decimal, others as integers.
func fmtRate(r float64) string {
	if r < 100 {
		return strconv.FormatFloat(r, 'f', 1, 64)
	}
	return fmtInt(int(r + 0.5))
}

// fmtDur shows three significant digits in a fitting unit.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + "µs"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	case d < 100*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
