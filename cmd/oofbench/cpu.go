package main

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is cumulative CPU time: this process's, and the whole machine's
// busy and stolen time from /proc/stat. Two samples tell how loaded the
// machine was during a scenario, and how much of it was this process (the
// client and the platform) versus everything else (PostgreSQL, Redis, Kafka
// and whatever else runs on the machine).
type cpuSample struct {
	at          time.Time
	self        time.Duration
	busy, steal time.Duration
	services    [numServices]time.Duration
	ok          bool // /proc/stat was readable
}

// cpuUse is the average number of CPUs in use between two samples.
type cpuUse struct {
	self, others, steal float64
	// services splits others by service (PostgreSQL, Kafka, Redis); what
	// is left of others is anything else on the machine.
	services [numServices]float64
	ok       bool
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.busy, s.steal, s.ok = procStat()
	return s
}

// sampleCPUServices is sampleCPU plus each service's processes: a walk of
// /proc, so only for a measurement's bounds, not settle's polling.
func sampleCPUServices() cpuSample {
	s := sampleCPU()
	s.services = serviceCPU()
	return s
}

func (a cpuSample) until(b cpuSample) cpuUse {
	wall := b.at.Sub(a.at).Seconds()
	if !a.ok || !b.ok || wall <= 0 {
		return cpuUse{}
	}
	self := (b.self - a.self).Seconds() / wall
	busy := (b.busy - a.busy).Seconds() / wall
	u := cpuUse{self: self, others: max(0, busy-self), steal: (b.steal - a.steal).Seconds() / wall, ok: true}
	for i := range u.services {
		u.services[i] = max(0, (b.services[i]-a.services[i]).Seconds()/wall)
	}
	return u
}

// otherCPU is what the machine used besides this process and the services.
func (u cpuUse) otherCPU() float64 {
	rest := u.others
	for _, v := range u.services {
		rest -= v
	}
	return max(0, rest)
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = time.Second / 100

// procStat reads the machine's busy (all but idle, iowait and steal) and
// stolen time from the "cpu" line of /proc/stat.
func procStat() (busy, steal time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, false
	}
	var v [8]int64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, false
		}
	}
	ticks := v[0] + v[1] + v[2] + v[5] + v[6]
	return time.Duration(ticks) * clockTick, time.Duration(v[7]) * clockTick, true
}

// settle waits, at most limit, until the whole machine (this process included)
// has used less than 15% of its CPUs for a full second, so that a broker still
// warming up or a previous scenario's backlog does not land in the next
// measurement. It reports whether the machine got quiet.
func settle(ctx context.Context, limit time.Duration) bool {
	const quietShare = 0.15 // of all CPUs
	quiet := quietShare * float64(runtime.NumCPU())
	deadline := time.Now().Add(limit)
	prev := sampleCPU()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
		cur := sampleCPU()
		u := prev.until(cur)
		if !u.ok {
			return true
		}
		if u.self+u.others < quiet {
			return true
		}
		prev = cur
	}
	return false
}
