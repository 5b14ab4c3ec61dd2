// Package failpoint lets crash tests kill the process at a named step of a
// write (e.g. after a command committed and before its events were sent),
// the way a power cut or `kill -9` would: no deferred function, no flush.
//
// Failpoints are off unless OOF_FAILPOINT names them when the process
// starts: "name" dies at the first hit, "name@N" at the N-th. Production
// never sets it; a disabled Hit costs one atomic load.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Names of the steps that can be failed, in write order.
const (
	CommandBeforeCommit = "command-before-commit" // events staged, transaction not committed
	CommandAfterCommit  = "command-after-commit"  // committed, relay not told
	RelayBeforeProduce  = "relay-before-produce"  // rows read, nothing sent
	RelayAfterProduce   = "relay-after-produce"   // Kafka acked, rows not marked published
)

type point struct {
	at   int64
	hits atomic.Int64
}

var (
	enabled atomic.Bool
	mu      sync.Mutex
	points  = map[string]*point{}
)

func init() { Configure(os.Getenv("OOF_FAILPOINT")) }

// Configure replaces the armed failpoints ("a,b@3"); empty disarms all.
func Configure(spec string) {
	mu.Lock()
	defer mu.Unlock()
	points = map[string]*point{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, nth, _ := strings.Cut(part, "@")
		at, err := strconv.ParseInt(nth, 10, 64)
		if err != nil || at < 1 {
			at = 1
		}
		points[name] = &point{at: at}
	}
	enabled.Store(len(points) > 0)
}

// Hit kills the process with SIGKILL if name is armed and this is its N-th hit.
func Hit(name string) {
	if !enabled.Load() {
		return
	}
	mu.Lock()
	p := points[name]
	mu.Unlock()
	if p == nil || p.hits.Add(1) != p.at {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not delivered synchronously; never go on
}
