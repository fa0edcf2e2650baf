//go:build unix

package scenario

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the test process has used so far. Benchmarks
// report arrivals per CPU second besides per wall second: the machine they run on is shared,
// and a busy neighbour stretches the wall clock, not the work.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
