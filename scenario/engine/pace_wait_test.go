package engine

import (
	"context"
	"testing"
	"time"
)

// TestWaitUntilNeverEarly: the pacer's wait, on both of its paths (a dense schedule on the Go
// timer, a sparse one on the timer and then nanosleep), never returns before the arrival is due.
func TestWaitUntilNeverEarly(t *testing.T) {
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for _, d := range []time.Duration{0, 20 * time.Microsecond, 90 * time.Microsecond, 150 * time.Microsecond,
		700 * time.Microsecond, 2500 * time.Microsecond, 4 * time.Millisecond} {
		for range 20 {
			at := now() + d
			if !waitUntil(context.Background(), timer, start, at) {
				t.Fatalf("wait of %v: ended without ctx being done", d)
			}
			if got := now(); got < at {
				t.Fatalf("wait of %v returned %v early", d, at-got)
			}
		}
	}
}

// TestWaitUntilCancelled: a cancelled run ends a long wait and says so.
func TestWaitUntilCancelled(t *testing.T) {
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if waitUntil(ctx, timer, start, now()+time.Hour) {
		t.Fatal("a wait of an hour with ctx cancelled after 10ms reported a full wait")
	}
}
