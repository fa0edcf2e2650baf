package sim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The tabulated quantile functions stay within 10⁻⁴ (relative) of the exact ones everywhere,
// tails included: the fluid mode's latencies do not move by more than a fraction of the
// histograms' own resolution (10⁻³).
func TestQuantileTable(t *testing.T) {
	emp, err := NewEmpirical([]float64{0.001, 0.002, 0.010}, []float64{0.002, 0.010, 0.200}, []int64{50, 45, 5})
	if err != nil {
		t.Fatal(err)
	}
	unit := newQuantileTable(unitExp)
	for name, d := range map[string]Dist{
		"lognormal":   LogNormalFromP50P99(0.008, 0.060),
		"purchase":    LogNormalFromP50P99(0.046, 0.160),
		"exponential": Exponential{MeanS: 0.01},
		"unit exp":    nil,
		"empirical":   emp,
	} {
		tab, f := unit, unitExp
		if d != nil {
			tab, f = serviceQuantiles(d), d.Quantile
		}
		rng := rand.New(rand.NewPCG(1, 1))
		ps := []float64{0, 1e-9, 0.5 / quantileCells, 1.0 / quantileCells, 0.5, 1 - 1.0/quantileCells, 1 - 1e-9}
		for range 200000 {
			ps = append(ps, rng.Float64())
		}
		for _, p := range ps {
			got, want := tab.at(p), f(p)
			if math.Abs(got-want) > 1e-4*math.Abs(want)+1e-12 {
				t.Fatalf("%s: quantile %.9f: table %.9g, exact %.9g", name, p, got, want)
			}
		}
	}
}

// One draw gives three offsets in [0, 1), independent and uniform enough to stratify with.
func TestFractions(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const n = 200000
	var sum [3]float64
	var cross float64
	for range n {
		a, b, c := fractions(rng.Uint64())
		for _, x := range []float64{a, b, c} {
			if x < 0 || x >= 1 {
				t.Fatalf("fraction %v outside [0, 1)", x)
			}
		}
		sum[0], sum[1], sum[2] = sum[0]+a, sum[1]+b, sum[2]+c
		cross += (a - 0.5) * (b - 0.5)
	}
	for i, s := range sum {
		if m := s / n; math.Abs(m-0.5) > 0.005 {
			t.Errorf("fraction %d: mean %.4f, want 0.5", i, m)
		}
	}
	if c := cross / n; math.Abs(c) > 0.002 {
		t.Errorf("covariance of the first two %.4f, want 0", c)
	}
}
