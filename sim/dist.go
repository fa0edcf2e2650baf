package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/gonum/stat/distuv"
)

// Dist is a service-time distribution, in seconds. Sample draws from the run's seeded source;
// Mean and SCV (squared coefficient of variation) feed the fluid mode's queueing formulas, and
// Quantile its stratified latency sampling.
type Dist interface {
	Sample(r *rand.Rand) float64
	Mean() float64
	SCV() float64
	Quantile(p float64) float64
	String() string
}

var (
	_ Dist = Exponential{}
	_ Dist = LogNormal{}
	_ Dist = Deterministic{}
	_ Dist = (*Empirical)(nil)
)

// Exponential service times with the given mean (seconds).
type Exponential struct{ MeanS float64 }

func (d Exponential) Sample(r *rand.Rand) float64 { return r.ExpFloat64() * d.MeanS }
func (d Exponential) Mean() float64               { return d.MeanS }
func (d Exponential) SCV() float64                { return 1 }
func (d Exponential) Quantile(p float64) float64  { return -math.Log1p(-p) * d.MeanS }
func (d Exponential) String() string              { return fmt.Sprintf("exponential(mean %s)", secs(d.MeanS)) }

// LogNormal service times; build it from two quantiles with LogNormalFromP50P99.
type LogNormal struct{ Mu, Sigma float64 }

// z99 is the 99th percentile of the unit normal.
var z99 = distuv.UnitNormal.Quantile(0.99)

// LogNormalFromP50P99 fits a lognormal to its median and 99th percentile (p99 ≥ p50 > 0).
func LogNormalFromP50P99(p50, p99 float64) LogNormal {
	s := 0.0
	if p99 > p50 {
		s = (math.Log(p99) - math.Log(p50)) / z99
	}
	return LogNormal{Mu: math.Log(p50), Sigma: s}
}

func (d LogNormal) Sample(r *rand.Rand) float64 { return math.Exp(d.Mu + d.Sigma*r.NormFloat64()) }
func (d LogNormal) Mean() float64               { return math.Exp(d.Mu + d.Sigma*d.Sigma/2) }
func (d LogNormal) SCV() float64                { return math.Expm1(d.Sigma * d.Sigma) }
func (d LogNormal) Quantile(p float64) float64 {
	return distuv.LogNormal{Mu: d.Mu, Sigma: d.Sigma}.Quantile(p)
}
func (d LogNormal) String() string {
	return fmt.Sprintf("lognormal(p50 %s, p99 %s)", secs(d.Quantile(0.5)), secs(d.Quantile(0.99)))
}

// Deterministic service: every request takes exactly Value seconds.
type Deterministic struct{ Value float64 }

func (d Deterministic) Sample(*rand.Rand) float64 { return d.Value }
func (d Deterministic) Mean() float64             { return d.Value }
func (d Deterministic) SCV() float64              { return 0 }
func (d Deterministic) Quantile(float64) float64  { return d.Value }
func (d Deterministic) String() string            { return fmt.Sprintf("deterministic(%s)", secs(d.Value)) }

// Empirical samples from measured values with their counts (a live run's service-time
// histogram): inverse CDF over the cumulative counts, uniform within each bar.
type Empirical struct {
	lo, hi []float64 // bar bounds, seconds
	cum    []int64   // cumulative counts
	mean   float64
	scv    float64
}

// NewEmpirical builds a distribution from bars [lo[i], hi[i]] seconds holding counts[i] values.
func NewEmpirical(lo, hi []float64, counts []int64) (*Empirical, error) {
	if len(lo) != len(hi) || len(lo) != len(counts) {
		return nil, fmt.Errorf("empirical distribution: %d, %d and %d bounds and counts", len(lo), len(hi), len(counts))
	}
	e := &Empirical{}
	var total int64
	var s1, s2 float64
	for i := range lo {
		if counts[i] <= 0 {
			continue
		}
		if lo[i] < 0 || hi[i] < lo[i] || math.IsNaN(lo[i]) || math.IsInf(hi[i], 0) {
			return nil, fmt.Errorf("empirical distribution: bar %d [%g, %g] is not a valid range", i, lo[i], hi[i])
		}
		total += counts[i]
		e.lo = append(e.lo, lo[i])
		e.hi = append(e.hi, hi[i])
		e.cum = append(e.cum, total)
		a, b, n := lo[i], hi[i], float64(counts[i])
		s1 += n * (a + b) / 2
		s2 += n * (a*a + a*b + b*b) / 3 // second moment of a uniform on [a, b]
	}
	if total == 0 {
		return nil, fmt.Errorf("empirical distribution: no values")
	}
	e.mean = s1 / float64(total)
	if e.mean > 0 {
		e.scv = math.Max(0, s2/float64(total)/(e.mean*e.mean)-1)
	}
	return e, nil
}

// EmpiricalFromHistogram reads an HDR histogram whose values are in unit (for example
// time.Microsecond, the unit of flashload's histograms).
func EmpiricalFromHistogram(h *hdrhistogram.Histogram, unit time.Duration) (*Empirical, error) {
	bars := h.Distribution()
	lo := make([]float64, 0, len(bars))
	hi := make([]float64, 0, len(bars))
	counts := make([]int64, 0, len(bars))
	u := unit.Seconds()
	for _, b := range bars {
		if b.Count == 0 {
			continue
		}
		lo = append(lo, float64(b.From)*u)
		hi = append(hi, float64(b.To+1)*u)
		counts = append(counts, b.Count)
	}
	return NewEmpirical(lo, hi, counts)
}

func (e *Empirical) at(k float64) float64 {
	total := e.cum[len(e.cum)-1]
	i := sort.Search(len(e.cum), func(i int) bool { return float64(e.cum[i]) > k })
	if i >= len(e.cum) {
		return e.hi[len(e.hi)-1]
	}
	var prev int64
	if i > 0 {
		prev = e.cum[i-1]
	}
	f := (k - float64(prev)) / float64(e.cum[i]-prev)
	_ = total
	return e.lo[i] + f*(e.hi[i]-e.lo[i])
}

func (e *Empirical) Sample(r *rand.Rand) float64 {
	return e.at(r.Float64() * float64(e.cum[len(e.cum)-1]))
}
func (e *Empirical) Mean() float64 { return e.mean }
func (e *Empirical) SCV() float64  { return e.scv }
func (e *Empirical) Quantile(p float64) float64 {
	return e.at(p * float64(e.cum[len(e.cum)-1]))
}
func (e *Empirical) String() string {
	return fmt.Sprintf("empirical(%d values, mean %s, p99 %s)", e.cum[len(e.cum)-1], secs(e.mean), secs(e.Quantile(0.99)))
}

func secs(s float64) string { return time.Duration(s * 1e9).Round(time.Microsecond).String() }
