package clock

import (
	"testing"
	"time"
)

// TestUntilNeverEarly: Until never returns before its instant, on the timer-and-nanosleep path
// and on the nanosleep-only one.
func TestUntilNeverEarly(t *testing.T) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for _, d := range []time.Duration{0, 30 * time.Microsecond, 800 * time.Microsecond, 2500 * time.Microsecond, 5 * time.Millisecond} {
		for range 10 {
			at := time.Now().Add(d)
			if !Until(nil, timer, at) {
				t.Fatalf("wait of %v: false without done closed", d)
			}
			if now := time.Now(); now.Before(at) {
				t.Fatalf("wait of %v returned %v early", d, at.Sub(now))
			}
		}
	}
}

// TestUntilDone: a closed done ends a long wait and says so; an instant already past with done
// closed is false too.
func TestUntilDone(t *testing.T) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	done := make(chan struct{})
	go func() { time.Sleep(10 * time.Millisecond); close(done) }()
	if Until(done, timer, time.Now().Add(time.Hour)) {
		t.Fatal("a wait of an hour with done closed after 10ms reported a full wait")
	}
	if Until(done, timer, time.Now()) {
		t.Fatal("done closed: want false")
	}
}
