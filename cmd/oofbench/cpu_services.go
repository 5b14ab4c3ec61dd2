package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// service is one of the programs the platform needs, told apart in the CPU
// table so a scenario's cost per operation can be split by where it goes.
type service int

const (
	svcPostgres service = iota
	svcKafka
	svcRedis
	numServices
)

var serviceNames = [numServices]string{"PostgreSQL", "Kafka", "Redis"}

// serviceCPU is the cumulative CPU time of every process of each service
// (all PostgreSQL backends, every Kafka JVM, every redis-server). A backend
// that exits between two samples takes its time with it; the platform's
// pools keep theirs open, so during a measurement that loss is small.
func serviceCPU() (cpu [numServices]time.Duration) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		svc, ok := classify(dir)
		if !ok {
			continue
		}
		cpu[svc] += processCPU(dir)
	}
	return cpu
}

// classify names the service a process belongs to by its command name
// (and, for a JVM, its main class).
func classify(dir string) (service, bool) {
	comm, err := os.ReadFile(dir + "/comm")
	if err != nil {
		return 0, false
	}
	switch name := strings.TrimSpace(string(comm)); {
	case name == "postgres":
		return svcPostgres, true
	case name == "redis-server":
		return svcRedis, true
	case name == "java":
		cmd, _ := os.ReadFile(dir + "/cmdline")
		if strings.Contains(string(cmd), "kafka.Kafka") {
			return svcKafka, true
		}
	}
	return 0, false
}

// processCPU is a process's user+system time from /proc/PID/stat.
func processCPU(dir string) time.Duration {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after ")" are fixed.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * clockTick
}
