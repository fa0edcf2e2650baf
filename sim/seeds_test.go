//go:build !race

package sim

import (
	"context"
	"testing"

	"github.com/flashload/flashload/scenario"
)

// seedsTable is the seeds' table (source document 000, §2.1) and the simulated one, from
// testdata/double-eleven-seeds.yaml: the bundled day with the seeds' figures as its model.
type seedsTable struct {
	NormalOrderMs, PeakOrderMs float64
	Availability               float64
	MinReplicas, MaxReplicas   int
	P99Ms                      float64
}

func simulateSeeds(t testing.TB) seedsTable {
	s, err := scenario.Load("testdata/double-eleven-seeds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := Prepare(s, Options{Mode: ModeFluid})
	if err != nil {
		t.Fatal(err)
	}
	run, err := sm.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	su := run.Summary
	order := sm.StepLatency()["purchase"]
	// Normal: the evening before (the first hour); peak: the worst minute of the day.
	var sum float64
	var n int64
	peak := 0.0
	for i, p := range su.Timeline {
		if i >= len(order) {
			break
		}
		if p.T < 3600 {
			sum += order[i].MeanMs * float64(order[i].N)
			n += order[i].N
		}
		peak = max(peak, order[i].MeanMs)
	}
	return seedsTable{NormalOrderMs: sum / float64(n), PeakOrderMs: peak,
		Availability: float64(su.Requests.OK) / float64(su.Requests.Total+su.Requests.Dropped),
		MinReplicas:  su.Replicas.Min, MaxReplicas: su.Replicas.Max, P99Ms: su.LatencyMs.P99}
}

// TestSeedsTableShape: the simulated day has the seeds' shape: order latency about 120 ms
// normally, rising about threefold at the peak; availability at least 99.95%; the front end
// autoscaled about 15×. It is too slow for the race detector (a whole day at 350k/s).
func TestSeedsTableShape(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole simulated day")
	}
	g := simulateSeeds(t)
	t.Logf("order latency normal %.0f ms, peak minute %.0f ms; availability %.4f%%; replicas %d..%d; P99 %.0f ms",
		g.NormalOrderMs, g.PeakOrderMs, g.Availability*100, g.MinReplicas, g.MaxReplicas, g.P99Ms)
	if g.NormalOrderMs < 100 || g.NormalOrderMs > 140 {
		t.Errorf("normal order latency %.0f ms, want about 120", g.NormalOrderMs)
	}
	if g.PeakOrderMs < 250 || g.PeakOrderMs > 450 {
		t.Errorf("peak order latency %.0f ms, want about 380", g.PeakOrderMs)
	}
	if g.Availability < 0.9995 {
		t.Errorf("availability %.4f%%, want ≥ 99.95%%", g.Availability*100)
	}
	if ratio := float64(g.MaxReplicas) / float64(g.MinReplicas); ratio < 12 || ratio > 18 {
		t.Errorf("front end scaled %.1f× (%d..%d), want about 15×", ratio, g.MinReplicas, g.MaxReplicas)
	}
	if g.P99Ms >= 500 {
		t.Errorf("P99 %.0f ms, the seeds' target is < 500 ms", g.P99Ms)
	}
}
