package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flashload/flashload/result"
)

type discard struct{}

func (discard) RecordN(*result.Result, int64) {}
func (discard) RatioN(string, int64, int64)   {}
func (discard) SkipN(string, string, int64)   {}

// queueSim is the per-request mode on one replica of c workers with service times d and
// Poisson arrivals at lambda per second: the textbook queue, through the product's code.
func queueSim(c int, d Dist, lambda float64, n int64, seed uint64) *requestSim {
	svc := &service{replicas: 1, workers: c, lb: "round-robin", scaler: Fixed{Replicas: 1}, min: 1, max: 1}
	for k := range svc.steps {
		svc.steps[k] = d
	}
	js := []journey{{name: "q", weight: 1, steps: []jstep{{kind: kindView, name: "view", sku: -1, prob: 1}}}}
	r := rand.New(rand.NewPCG(seed, 7))
	t, i := 0.0, int64(0)
	next := func() (time.Duration, bool) {
		if i >= n {
			return 0, false
		}
		i++
		t += r.ExpFloat64() / lambda
		return time.Duration(t * 1e9), true
	}
	s := newRequestSim(svc, js, nil, int64(seed), discard{}, next)
	s.run(math.MaxInt64, nil)
	return s
}

type oracle struct {
	name            string
	c               int
	d               Dist
	lambda          float64
	wait, sojourn   float64 // means, seconds
	p99Wait         float64 // 0: not checked
	meanTol, p99Tol float64
}

var oracles = []oracle{
	{name: "M/M/1", c: 1, d: Exponential{1}, lambda: 0.8, wait: 4, sojourn: 5},
	{name: "M/M/10", c: 10, d: Exponential{0.01}, lambda: 900, wait: 0.006687, sojourn: 0.016687, p99Wait: 0.04203},
	{name: "M/D/1", c: 1, d: Deterministic{1}, lambda: 0.8, wait: 2, sojourn: 3},
}

func checkOracle(t *testing.T, o oracle, n int64, meanTol, p99Tol float64) {
	t.Helper()
	s := queueSim(o.c, o.d, o.lambda, n, 42)
	if s.st.served != n {
		t.Fatalf("%s: served %d of %d", o.name, s.st.served, n)
	}
	w := s.st.sumWait / float64(s.st.served)
	soj := s.st.sumSojourn / float64(s.st.served)
	near(t, o.name+" mean wait", w, o.wait, meanTol)
	near(t, o.name+" mean sojourn", soj, o.sojourn, meanTol)
	// Little's law: L = λW, with L the time average of the number in the system.
	span := s.lastT.Seconds()
	near(t, o.name+" Little L vs λW", s.sysArea/span, float64(s.st.served)/span*soj, meanTol)
	t.Logf("%s, %d arrivals: mean wait %.6g (want %g), sojourn %.6g (want %g), L %.6g vs λW %.6g, P99 wait %.6g (want %g)",
		o.name, n, w, o.wait, soj, o.sojourn, s.sysArea/span, float64(s.st.served)/span*soj,
		float64(s.st.wait.ValueAtQuantile(99))/1e6, o.p99Wait)
	if o.p99Wait > 0 {
		near(t, o.name+" P99 wait", float64(s.st.wait.ValueAtQuantile(99))/1e6, o.p99Wait, p99Tol)
	}
}

// TestOraclesSmall runs every oracle at a size the race detector can afford, with tolerances
// that still catch a wrong model (a queue without the right discipline or distribution is off
// by far more). oracle_long_test.go runs 10⁷ arrivals at ±2% / ±5% without the race detector.
func TestOraclesSmall(t *testing.T) {
	for _, o := range oracles {
		// Waiting times at ρ = 0.8–0.9 are strongly correlated: 10⁶ arrivals put the estimates
		// within a few percent (10⁷ within one); 2·10⁵ (under the race detector) within 15%.
		if raceEnabled {
			checkOracle(t, o, 200_000, 0.15, 0.15)
			continue
		}
		checkOracle(t, o, 1_000_000, 0.06, 0.08)
	}
}

func TestDeterministicBySeed(t *testing.T) {
	a := queueSim(10, Exponential{0.01}, 900, 20000, 5)
	b := queueSim(10, Exponential{0.01}, 900, 20000, 5)
	if a.st.sumWait != b.st.sumWait || a.sysArea != b.sysArea {
		t.Fatal("same seed, different runs")
	}
	c := queueSim(10, Exponential{0.01}, 900, 20000, 6)
	if a.st.sumWait == c.st.sumWait {
		t.Fatal("different seeds, same run")
	}
}

// BenchmarkRequestMode is the per-request mode's cost per arrival on M/M/10 (two kernel events
// per arrival plus the model's bookkeeping).
func BenchmarkRequestMode(b *testing.B) {
	b.ReportAllocs()
	queueSim(10, Exponential{0.01}, 900, int64(b.N), 1)
}

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(9, 9)) }
