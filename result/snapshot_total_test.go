package result

import (
	"math"
	"testing"
	"time"
)

// TestSnapshotTotalCountsHarvestedArrivals: the running total's achieved rate counts the arrivals
// of windows already moved out of the shards, not only those still open (a dashboard once showed
// "avg 6 of 937" because harvested arrivals were dropped from the total).
func TestSnapshotTotalCountsHarvestedArrivals(t *testing.T) {
	rec := NewRecorder(RecorderOptions{Name: "t", Mode: "live", Window: time.Second, Workers: 1,
		TargetRate: func(time.Duration) float64 { return 100 }})
	sh := rec.Shard(0)
	for i := range 300 { // 100 arrivals per second for 3 s, each a two-request journey
		at := time.Duration(i) * 10 * time.Millisecond
		sh.Record(&Result{Intended: at, Sent: at, Done: at + time.Millisecond, Status: 200, First: true})
		sh.Record(&Result{Intended: at, Sent: at, Done: at + 2*time.Millisecond, Status: 201})
	}
	rec.Snapshot(2500 * time.Millisecond) // harvests windows 0 and 1
	snap := rec.Snapshot(3 * time.Second)
	if got := snap.Total.AchievedRPS; math.Abs(got-100) > 1 {
		t.Errorf("total achieved %.1f/s, want 100/s (arrivals, harvested windows included)", got)
	}
	if got := snap.Total.TargetRPS; math.Abs(got-100) > 1e-9 {
		t.Errorf("total target %.1f/s, want 100/s", got)
	}
}

// TestTargetCountIsExact: with TargetCount the window targets and the average are exact
// differences of the expected count (a ramp 0→200/s over 2 s expects 200 arrivals), and a
// segment's share shows as its share of the target.
func TestTargetCountIsExact(t *testing.T) {
	for _, share := range []float64{1, 0.5} {
		count := func(w time.Duration) float64 { s := min(w.Seconds(), 2); return share * 50 * s * s } // rate 100·t
		rec := NewRecorder(RecorderOptions{Name: "t", Mode: "live", Window: time.Second, Workers: 1, Duration: 2 * time.Second,
			TargetRate:  func(time.Duration) float64 { return 1e9 }, // ignored when TargetCount is set
			TargetCount: count})
		run := rec.Finish(2 * time.Second)
		if got, want := run.Summary.Rate.TargetAvg, share*100; math.Abs(got-want) > 1e-9 {
			t.Errorf("share %v: target avg %v, want %v", share, got, want)
		}
		if tl := run.Summary.Timeline; len(tl) != 2 || math.Abs(tl[0].TargetRPS-share*50) > 1e-9 || math.Abs(tl[1].TargetRPS-share*150) > 1e-9 {
			t.Errorf("share %v: timeline %+v, want targets %v and %v", share, tl, share*50, share*150)
		}
	}
}
