//go:build !linux

package engine

import "time"

// preciseSleep sleeps about d; elsewhere than Linux a Go timer is the best the engine has.
func preciseSleep(d time.Duration) { time.Sleep(d) }
