// Package clock waits for an instant more precisely than a Go timer does on Linux, where the
// runtime's netpoller waits in whole milliseconds: a timer wakes 0.62 ms late on average
// (2,000 exponential waits of mean 2.5 ms on an idle machine), nanosleep(2) 0.11 ms. Both the
// engine's pacer (whose lateness would count as the target's latency) and the known-capacity
// target's work slots (whose lateness would lower the capacity below the model's) wait with it.
package clock

import "time"

// Coarse is how long before the instant the Go timer is set to fire; the rest is slept in
// nanosleep, blocking the goroutine's thread for at most about this long.
const Coarse = 2 * time.Millisecond

// Until waits until the monotonic clock reaches at, or done is closed (false). t is the
// caller's stopped timer, reused; it is stopped again on return. done is seen within Coarse.
func Until(done <-chan struct{}, t *time.Timer, at time.Time) bool {
	if d := time.Until(at) - Coarse; d > 0 {
		t.Reset(d)
		select {
		case <-done:
			t.Stop()
			return false
		case <-t.C:
		}
	}
	for d := time.Until(at); d > 0; d = time.Until(at) {
		preciseSleep(d)
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}
