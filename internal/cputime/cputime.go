// Package cputime reads this process's CPU time, for the engine's drop reasons and a
// coordinated generator's heartbeat.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user and system) this process used so far; 0 when it cannot tell.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
