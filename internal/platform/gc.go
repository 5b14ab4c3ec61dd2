package platform

import (
	"os"
	"runtime/debug"
)

// ServerGCPercent is the garbage collector's target for a serving process
// (Go's default is 100). The platform keeps little live heap (caches,
// connection buffers: tens of MiB) and allocates per request, so at the
// default it collects very often; profiles of the write path showed the
// collector at ~6% of the process's CPU. At 400 it runs about a quarter as
// often, for a peak heap of about five times the live one.
const ServerGCPercent = 400

// TuneGC applies ServerGCPercent unless the operator set GOGC, which then
// wins. The serving binary and the benchmark (which runs the platform in
// its own process) both call it, so the benchmark measures what runs.
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(ServerGCPercent)
	}
}
