//go:build !linux

package clock

import "time"

// preciseSleep sleeps about d; elsewhere than Linux a Go timer is the best there is.
func preciseSleep(d time.Duration) { time.Sleep(d) }
