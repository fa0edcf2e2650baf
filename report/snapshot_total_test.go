package report

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
