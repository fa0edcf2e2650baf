//go:build linux

package clock

import (
	"syscall"
	"time"
)

// preciseSleep sleeps about d in nanosleep(2), blocking the calling goroutine's thread. It wakes
// about 0.1 ms late (the kernel's default timer slack of 50 µs and the wake-up) where a Go timer
// wakes up to a whole millisecond late: the runtime's netpoller waits in milliseconds, 0.62 ms
// late on average. An interrupted sleep returns early; Until sleeps the rest.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}
