package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func near(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g (±%.1f%%)", what, got, want, relTol*100)
	}
}

func TestQueueFormulas(t *testing.T) {
	mm1 := MMc(1, 0.8, 1)
	near(t, "M/M/1 Wq", mm1.MeanWait(), 4.0, 1e-9)
	near(t, "M/M/1 W", mm1.MeanSojourn(), 5.0, 1e-9)

	mm10 := MMc(10, 900, 100)
	near(t, "M/M/10 Erlang C", mm10.PWait(), 0.6687, 1e-4)
	near(t, "M/M/10 Wq", mm10.MeanWait(), 0.006687, 1e-4)
	near(t, "M/M/10 W", mm10.MeanSojourn(), 0.016687, 1e-4)
	near(t, "M/M/10 P99 wait", mm10.WaitQuantile(0.99), 0.04203, 5e-4)
	near(t, "M/M/10 P(W>10ms)", mm10.WaitTail(0.010), 0.6687*math.Exp(-(1000-900)*0.010), 1e-4)
	if q := mm10.WaitQuantile(0.2); q != 0 {
		t.Errorf("M/M/10 P20 wait = %g, want 0 (only 66.87%% wait)", q)
	}

	md1 := Queue{C: 1, Lambda: 0.8, Mu: 1, CA2: 1, CS2: 0}
	near(t, "M/D/1 Wq", md1.MeanWait(), 2.0, 1e-9)

	if over := MMc(2, 3, 1); over.Stable() || !math.IsInf(over.MeanWait(), 1) || over.PWait() != 1 {
		t.Errorf("an overloaded queue must be unstable with infinite wait")
	}
}

func TestErlangBLargeMatchesRecursion(t *testing.T) {
	for _, tc := range []struct {
		c int
		a float64
	}{{129, 20}, {129, 120}, {256, 179.2}, {256, 253.4}, {256, 307.2}, {600, 500}, {600, 590}, {1000, 990}, {5000, 4900}, {19200, 18000}} {
		b := 1.0
		for k := 1; k <= tc.c; k++ {
			b = tc.a * b / (float64(k) + tc.a*b)
		}
		near(t, "ErlangB", ErlangB(tc.c, tc.a), b, 1e-6)
	}
}

func TestUSL(t *testing.T) {
	near(t, "linear", USL(32, 2000, 0, 0), 64000, 1e-12)
	near(t, "contention", USL(32, 2000, 0.01, 0), 64000/(1+0.31), 1e-12)
	// With coherency the curve has a peak at sqrt((1-α)/β).
	if USL(200, 1, 0.01, 0.0001) > USL(100, 1, 0.01, 0.0001) {
		t.Errorf("USL must fall past its peak")
	}
}

func TestDistributions(t *testing.T) {
	ln := LogNormalFromP50P99(0.008, 0.060)
	near(t, "lognormal p50", ln.Quantile(0.5), 0.008, 1e-9)
	near(t, "lognormal p99", ln.Quantile(0.99), 0.060, 1e-9)
	r := rand.New(rand.NewPCG(1, 1))
	for _, d := range []Dist{Exponential{0.01}, ln, Deterministic{0.02}} {
		var s, s2 float64
		const n = 400000
		for i := 0; i < n; i++ {
			x := d.Sample(r)
			s += x
			s2 += x * x
		}
		m := s / n
		near(t, d.String()+" sample mean", m, d.Mean(), 0.01)
		if d.SCV() > 0 {
			near(t, d.String()+" sample SCV", s2/n/(m*m)-1, d.SCV(), 0.05)
		}
	}
}

func TestEmpiricalFromHistogram(t *testing.T) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	r := rand.New(rand.NewPCG(2, 2))
	src := LogNormalFromP50P99(0.008, 0.060)
	for i := 0; i < 200000; i++ {
		h.RecordValue(int64(src.Sample(r) * 1e6))
	}
	e, err := EmpiricalFromHistogram(h, time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "empirical mean", e.Mean(), src.Mean(), 0.02)
	near(t, "empirical p50", e.Quantile(0.5), 0.008, 0.02)
	near(t, "empirical p99", e.Quantile(0.99), 0.060, 0.03)
	near(t, "empirical SCV", e.SCV(), src.SCV(), 0.15)
	var s float64
	for i := 0; i < 100000; i++ {
		s += e.Sample(r)
	}
	near(t, "empirical sample mean", s/100000, e.Mean(), 0.02)

	if _, err := NewEmpirical(nil, nil, nil); err == nil {
		t.Error("an empty histogram must be refused")
	}
	if _, err := NewEmpirical([]float64{2}, []float64{1}, []int64{3}); err == nil {
		t.Error("a bar with hi < lo must be refused")
	}
}

func TestDBSteady(t *testing.T) {
	for _, d := range []dbModel{{query: 0.002}, {query: 0.002, alpha: 0.05}, {query: 0.002, alpha: 0.02, beta: 0.001}} {
		for _, lam := range []float64{10, 200, 400} {
			r, ok := d.steady(lam)
			if !ok {
				continue
			}
			n := lam * r // Little
			near(t, "USL fixed point", r, d.query*d.factor(n), 1e-9)
		}
	}
	d := dbModel{query: 0.01, alpha: 0.1, beta: 0.01}
	if _, ok := d.steady(1000); ok {
		t.Error("a rate beyond the USL peak has no steady state")
	}
	near(t, "USL peak concurrency", d.peakN(), math.Sqrt(0.9/0.01), 1e-12)
}
