package main

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oof-gg/platform/tests/harness"
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

// servicePIDs are the processes listening on the bench's PostgreSQL, Kafka
// and Redis ports (0: not found, e.g. on another machine). Found by port,
// not by name, so another set of servers on the machine (a second test run)
// is not counted as the bench's.
var servicePIDs [numServices]int

// findServices looks up who listens on the infrastructure's ports.
func findServices(in harness.Infra) {
	ports := [numServices]string{}
	if u, err := url.Parse(in.PostgresURL); err == nil {
		ports[svcPostgres] = u.Port()
		if ports[svcPostgres] == "" {
			ports[svcPostgres] = "5432"
		}
	}
	if len(in.KafkaBrokers) > 0 {
		_, ports[svcKafka], _ = net.SplitHostPort(in.KafkaBrokers[0])
	}
	_, ports[svcRedis], _ = net.SplitHostPort(in.RedisAddr)
	inodes := map[string]service{}
	for svc, port := range ports {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			continue
		}
		for _, ino := range listeningInodes(uint16(p)) {
			inodes["socket:["+ino+"]"] = service(svc)
		}
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err != nil {
			continue
		}
		if svc, ok := inodes[link]; ok && servicePIDs[svc] == 0 {
			servicePIDs[svc], _ = strconv.Atoi(strings.Split(fd, "/")[2])
		}
	}
}

// listeningInodes are the socket inodes in LISTEN state on port.
func listeningInodes(port uint16) []string {
	var out []string
	want := fmt.Sprintf(":%04X", port)
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ... inode (field 9)
			if len(fields) > 9 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				out = append(out, fields[9])
			}
		}
		_ = f.Close()
	}
	return out
}

// serviceCPU is the cumulative CPU time of each service: its listening
// process, and for PostgreSQL also every child of it (the backends and
// background workers). A backend that exits between two samples takes its
// time with it; the platform's pools keep theirs open, so during a
// measurement that loss is small.
func serviceCPU() (cpu [numServices]time.Duration) {
	for svc, pid := range servicePIDs {
		if pid != 0 {
			cpu[svc] += processCPU(pid)
		}
	}
	if pm := servicePIDs[svcPostgres]; pm != 0 {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, dir := range dirs {
			pid, _ := strconv.Atoi(filepath.Base(dir))
			if parent(pid) == pm {
				cpu[svcPostgres] += processCPU(pid)
			}
		}
	}
	return cpu
}

// statFields are the fields of /proc/PID/stat after the command name
// (which may hold spaces), so f[0] is field 3 (state).
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return nil
	}
	return strings.Fields(rest)
}

func parent(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// processCPU is a process's user+system time (all its threads).
func processCPU(pid int) time.Duration {
	f := statFields(pid)
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
