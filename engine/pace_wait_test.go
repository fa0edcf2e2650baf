package engine

import (
	"context"
	"testing"
	"time"
)

// TestWaitUntilNeverEarly: the pacer's wait, on each of its paths (a short wait slept precisely
// while the budget lasts, on the Go timer once it is spent, a longer one on the timer and then
// nanosleep), never returns before the arrival is due; the budget is spent by short waits only.
func TestWaitUntilNeverEarly(t *testing.T) {
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }
	for _, spent := range []bool{false, true} {
		w := newPacerWait(start)
		for _, d := range []time.Duration{0, 20 * time.Microsecond, 90 * time.Microsecond, 150 * time.Microsecond,
			700 * time.Microsecond, 2500 * time.Microsecond, 4 * time.Millisecond} {
			for range 20 {
				if spent {
					w.tokens, w.filled = -1e9, time.Now()
				}
				before := w.tokens
				at := now() + d
				if !w.until(context.Background(), at) {
					t.Fatalf("wait of %v: ended without ctx being done", d)
				}
				if got := now(); got < at {
					t.Fatalf("wait of %v (budget spent: %v) returned %v early", d, spent, at-got)
				}
				if d >= preciseAbove && w.tokens < before {
					t.Fatalf("a wait of %v spent the short waits' budget (%v → %v)", d, before, w.tokens)
				}
			}
		}
	}
}

// TestWaitUntilCancelled: a cancelled run ends a long wait and says so.
func TestWaitUntilCancelled(t *testing.T) {
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }
	w := newPacerWait(start)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if w.until(ctx, now()+time.Hour) {
		t.Fatal("a wait of an hour with ctx cancelled after 10ms reported a full wait")
	}
}
