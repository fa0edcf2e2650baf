package scenario

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// A Curve is a traffic curve: the rate of arrivals at scenario time t, its integral (expected
// arrivals in [0, t]) and the inverse of the integral. Stages follow k6 semantics; shaped stages
// (sine, midnight-spike, double-eleven-day) and replayed CSV curves are built of pieces whose
// integrals are closed forms. Inverses are closed forms for piecewise-linear pieces (constant,
// ramp, step, double-eleven-day, replay) and Newton iterations to 0.25 ns for sine and the
// exponential decay of midnight-spike, started from a table so that the result depends on the
// input alone (see table). Every shape is meant to generate more than 10 million arrival times
// per CPU second on one core (BenchmarkArrivals; docs/benchmarks.md).
type Curve struct {
	parts []part
	total float64 // integral over the whole curve
	dur   float64 // seconds
}

// part is one stage of a curve, in stage-local seconds u ∈ [0, d].
type part struct {
	start float64 // scenario seconds at the stage's start
	d     float64
	cum   float64 // integral of the curve before this stage
	p     piece
}

// piece is a rate function on [0, d] with its integral and the inverse of the integral.
type piece interface {
	rate(u float64) float64
	integral(u float64) float64
	// inverse returns u with integral(u) = m for 0 ≤ m ≤ integral(d). cur is a search cursor
	// (an index into the piece's knots or table, kept by the caller between calls for speed);
	// the result depends on m alone, never on cur.
	inverse(m float64, cur *int) float64
	end() float64  // rate at d, where the next stage starts from
	peak() float64 // max rate on [0, d]
}

// Point is one row of a replayed curve.
type Point struct {
	T   time.Duration
	RPS float64
}

// Shapes a stage may name.
const (
	ShapeRamp            = "ramp" // the default: linear from the previous rate to rps (k6)
	ShapeConstant        = "constant"
	ShapeStep            = "step"
	ShapeSine            = "sine"
	ShapeMidnightSpike   = "midnight-spike"
	ShapeDoubleElevenDay = "double-eleven-day"
)

// Shapes lists the shapes a stage may name.
var Shapes = []string{ShapeRamp, ShapeConstant, ShapeStep, ShapeSine, ShapeMidnightSpike, ShapeDoubleElevenDay}

// Defaults of shaped stages.
const (
	DefaultRise  = 26 * time.Second // Alibaba's 2020 peak came 26 s after midnight
	DefaultSteps = 4
)

// NewCurve builds the curve of k6-style stages starting at startRPS.
func NewCurve(startRPS float64, stages []Stage) (*Curve, error) {
	c := &Curve{}
	r0 := startRPS
	for i, st := range stages {
		p, err := stagePiece(r0, st)
		if err != nil {
			return nil, fmt.Errorf("stages[%d]: %w", i, err)
		}
		d := st.Duration.D().Seconds()
		c.parts = append(c.parts, part{start: c.dur, d: d, cum: c.total, p: p})
		c.dur += d
		c.total += p.integral(d)
		r0 = p.end()
	}
	return c, nil
}

// NewReplayCurve builds a curve that interpolates points linearly, lasting until the last
// point's time (or dur if it is longer: the last rate holds).
func NewReplayCurve(points []Point, dur time.Duration) (*Curve, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("a replay needs at least one point")
	}
	var us, rs []float64
	if points[0].T > 0 {
		us, rs = append(us, 0), append(rs, points[0].RPS)
	}
	for i, p := range points {
		if p.T < 0 || p.RPS < 0 || math.IsNaN(p.RPS) || math.IsInf(p.RPS, 0) {
			return nil, fmt.Errorf("point %d: t and rps must be ≥ 0", i)
		}
		if i > 0 && p.T <= points[i-1].T {
			return nil, fmt.Errorf("point %d: t must increase", i)
		}
		us, rs = append(us, p.T.Seconds()), append(rs, p.RPS)
	}
	if last := us[len(us)-1]; dur.Seconds() > last {
		us, rs = append(us, dur.Seconds()), append(rs, rs[len(rs)-1])
	}
	total := us[len(us)-1]
	if total <= 0 {
		return nil, fmt.Errorf("a replay must last more than 0s")
	}
	p := newPolyline(us, rs)
	return &Curve{parts: []part{{start: 0, d: total, p: p}}, total: p.integral(total), dur: total}, nil
}

// Duration is the length of the curve.
func (c *Curve) Duration() time.Duration { return secs(c.dur) }

// Total is the integral over the whole curve: the expected number of arrivals.
func (c *Curve) Total() float64 { return c.total }

// Rate is the rate at scenario time t, arrivals per second.
func (c *Curve) Rate(t time.Duration) float64 {
	i, u := c.find(t.Seconds())
	if i < 0 {
		return 0
	}
	return c.parts[i].p.rate(u)
}

// Integral is the expected number of arrivals in [0, t].
func (c *Curve) Integral(t time.Duration) float64 {
	i, u := c.find(t.Seconds())
	if i < 0 {
		if t <= 0 {
			return 0
		}
		return c.total
	}
	return c.parts[i].cum + c.parts[i].p.integral(u)
}

// Inverse returns the earliest t with Integral(t) = n, for 0 ≤ n ≤ Total; beyond, Duration.
func (c *Curve) Inverse(n float64) time.Duration {
	if n <= 0 {
		return 0
	}
	if n >= c.total {
		return secs(c.dur)
	}
	k := sort.Search(len(c.parts), func(k int) bool { return c.parts[k].cum+c.parts[k].p.integral(c.parts[k].d) > n })
	if k == len(c.parts) {
		return secs(c.dur)
	}
	pt := c.parts[k]
	cur := 0
	return secs(pt.start + pt.p.inverse(n-pt.cum, &cur))
}

// Peak is the highest rate of the curve.
func (c *Curve) Peak() float64 {
	m := 0.0
	for _, p := range c.parts {
		m = math.Max(m, p.p.peak())
	}
	return m
}

// StagePeak is the highest rate of stage i (the whole replay for i = 0 of a replayed curve).
func (c *Curve) StagePeak(i int) float64 {
	if i < 0 || i >= len(c.parts) {
		return 0
	}
	return c.parts[i].p.peak()
}

func (c *Curve) find(t float64) (int, float64) {
	if t < 0 || t > c.dur || len(c.parts) == 0 {
		return -1, 0
	}
	k := sort.Search(len(c.parts), func(k int) bool { return c.parts[k].start+c.parts[k].d > t })
	if k == len(c.parts) {
		k--
	}
	return k, t - c.parts[k].start
}

// secs converts seconds to a Duration, rounding to the nearest nanosecond.
func secs(s float64) time.Duration {
	if s >= 0 {
		return time.Duration(s*1e9 + 0.5)
	}
	return time.Duration(s*1e9 - 0.5)
}

func stagePiece(r0 float64, st Stage) (piece, error) {
	d := st.Duration.D().Seconds()
	if d <= 0 {
		return nil, fmt.Errorf("duration must be > 0")
	}
	switch st.Shape {
	case "", ShapeRamp:
		return newPolyline([]float64{0, d}, []float64{r0, st.RPS}), nil
	case ShapeConstant:
		r := st.RPS
		if r == 0 {
			r = st.Peak
		}
		return newPolyline([]float64{0, d}, []float64{r, r}), nil
	case ShapeStep:
		n := st.Steps
		if n <= 0 {
			n = DefaultSteps
		}
		var us, rs []float64
		for i := 0; i < n; i++ {
			r := r0 + (st.RPS-r0)*float64(i+1)/float64(n)
			a, b := d*float64(i)/float64(n), d*float64(i+1)/float64(n)
			us, rs = append(us, a, b), append(rs, r, r)
		}
		return newPolyline(us, rs), nil
	case ShapeSine:
		period := st.Period.D().Seconds()
		if period <= 0 {
			period = d
		}
		sn := &sine{low: r0, amp: (st.Peak - r0) / 2, w: 2 * math.Pi / period, d: d}
		sn.tab = newSineTable(sn)
		return sn, nil
	case ShapeMidnightSpike:
		rise := st.Rise.D().Seconds()
		if st.Rise == 0 {
			rise = math.Min(DefaultRise.Seconds(), d/2)
		}
		if rise >= d {
			return nil, fmt.Errorf("rise must be shorter than the stage")
		}
		tau := st.Decay.D().Seconds()
		if tau <= 0 {
			tau = (d - rise) / 5
		}
		floor := st.RPS
		if floor == 0 {
			floor = r0
		}
		sp := &spike{r0: r0, peakR: st.Peak, floor: floor, rise: rise, tau: tau, d: d}
		sp.tab = newSpikeTable(sp)
		return sp, nil
	case ShapeDoubleElevenDay:
		us := make([]float64, len(dayKnots))
		rs := make([]float64, len(dayKnots))
		for i, k := range dayKnots {
			us[i], rs[i] = k[0]*d, k[1]*st.Peak
		}
		rs[0] = r0
		return newPolyline(us, rs), nil
	}
	return nil, fmt.Errorf("unknown shape %q", st.Shape)
}

// dayKnots is the double-eleven-day profile after the opening rush, as (share of the stage,
// share of peak): the rush fades (55% at 4%), the night trough (12%) comes at 20%, a plateau
// of 55-60% holds through the middle, the evening climbs to peak at 88% and the stage ends at
// 75%. For the bundled 22h30m stage from 01:30: the trough at 06:00, the peak at 21:18. The
// first knot's level is replaced by the previous stage's end rate.
var dayKnots = [][2]float64{
	{0, 1}, {0.04, 0.55}, {0.12, 0.25}, {0.2, 0.12}, {0.3, 0.3}, {0.4, 0.55}, {0.5, 0.6},
	{0.62, 0.5}, {0.75, 0.7}, {0.88, 1}, {0.95, 0.9}, {1, 0.75},
}

// polyline is a piecewise-linear rate (discontinuities allowed at repeated knots).
type polyline struct {
	u, r []float64 // segments i: [u[2i], u[2i+1]] from r[2i] to r[2i+1]
	cum  []float64 // integral before segment i
	k    []float64 // slope of segment i
	ir   []float64 // 1/r[2i] of a flat segment i with a positive rate, else 0
}

// newPolyline joins consecutive knots; a pair of knots with the same u is a jump.
func newPolyline(us, rs []float64) *polyline {
	p := &polyline{}
	for i := 0; i+1 < len(us); i++ {
		if us[i+1] <= us[i] {
			continue
		}
		p.u = append(p.u, us[i], us[i+1])
		p.r = append(p.r, rs[i], rs[i+1])
	}
	c := 0.0
	for i := 0; i < len(p.u)/2; i++ {
		p.cum = append(p.cum, c)
		c += (p.u[2*i+1] - p.u[2*i]) * (p.r[2*i] + p.r[2*i+1]) / 2
		k, ir := (p.r[2*i+1]-p.r[2*i])/(p.u[2*i+1]-p.u[2*i]), 0.0
		if k == 0 && p.r[2*i] > 0 {
			ir = 1 / p.r[2*i]
		}
		p.k, p.ir = append(p.k, k), append(p.ir, ir)
	}
	p.cum = append(p.cum, c)
	return p
}

func (p *polyline) seg(u float64) int {
	n := len(p.cum) - 1
	i := sort.Search(n, func(i int) bool { return p.u[2*i+1] > u })
	if i == n {
		i--
	}
	return i
}

func (p *polyline) rate(u float64) float64 {
	i := p.seg(u)
	a, b := p.u[2*i], p.u[2*i+1]
	x := min(max(u-a, 0), b-a)
	return p.r[2*i] + (p.r[2*i+1]-p.r[2*i])*x/(b-a)
}

func (p *polyline) integral(u float64) float64 {
	i := p.seg(u)
	a, b := p.u[2*i], p.u[2*i+1]
	x := min(max(u-a, 0), b-a)
	k := (p.r[2*i+1] - p.r[2*i]) / (b - a)
	return p.cum[i] + p.r[2*i]*x + k*x*x/2
}

func (p *polyline) inverse(m float64, cur *int) float64 {
	n := len(p.cum) - 1
	i := seek(p.cum, m, cur)
	if i >= n {
		return p.u[len(p.u)-1]
	}
	a, b := p.u[2*i], p.u[2*i+1]
	if ir := p.ir[i]; ir > 0 { // flat: no division
		return a + min(max(m-p.cum[i], 0)*ir, b-a)
	}
	return a + linInverse(p.r[2*i], p.k[i], m-p.cum[i], b-a)
}

// linInverse solves r0 x + k x²/2 = m for x in [0, w].
func linInverse(r0, k, m, w float64) float64 {
	if m <= 0 {
		return 0
	}
	if k == 0 && r0 > 0 {
		return min(m/r0, w)
	}
	disc := r0*r0 + 2*k*m
	if disc < 0 {
		return w
	}
	den := r0 + math.Sqrt(disc)
	if den <= 0 {
		return w
	}
	return min(2*m/den, w) // the stable form of (-r0 + sqrt(disc)) / k
}

func (p *polyline) end() float64 { return p.r[len(p.r)-1] }

func (p *polyline) peak() float64 {
	m := 0.0
	for _, r := range p.r {
		m = math.Max(m, r)
	}
	return m
}

// sine rises from low to low+2·amp and back over each period: a diurnal day.
type sine struct {
	low, amp, w, d float64
	tab            table
}

func (s *sine) rate(u float64) float64 { return s.low + s.amp - s.amp*math.Cos(s.w*u) }
func (s *sine) integral(u float64) float64 {
	return (s.low+s.amp)*u - s.amp/s.w*math.Sin(s.w*u)
}
func (s *sine) end() float64 { return s.rate(s.d) }
func (s *sine) peak() float64 {
	if s.w*s.d >= math.Pi {
		return math.Max(s.low, s.low+2*s.amp)
	}
	return math.Max(s.low, s.rate(s.d))
}

// spike rises linearly from r0 to peak over rise, then decays exponentially towards floor with
// time constant tau: floor + (peak-floor)·exp(-(u-rise)/tau).
type spike struct {
	r0, peakR, floor, rise, tau, d float64
	tab                            table // of the decay, u from rise to d
}

func (s *spike) rate(u float64) float64 {
	if u < s.rise {
		return s.r0 + (s.peakR-s.r0)*u/s.rise
	}
	return s.floor + (s.peakR-s.floor)*math.Exp(-(u-s.rise)/s.tau)
}

func (s *spike) riseArea() float64 { return s.rise * (s.r0 + s.peakR) / 2 }

func (s *spike) integral(u float64) float64 {
	if u < s.rise {
		return s.r0*u + (s.peakR-s.r0)/s.rise*u*u/2
	}
	v := u - s.rise
	return s.riseArea() + s.floor*v + (s.peakR-s.floor)*s.tau*(1-math.Exp(-v/s.tau))
}

func (s *spike) end() float64  { return s.rate(s.d) }
func (s *spike) peak() float64 { return math.Max(math.Max(s.r0, s.peakR), s.floor) }

// seek returns j with xs[j] ≤ x < xs[j+1] (len(xs)-1 when x ≥ the last) for an increasing xs,
// walking from *cur when x is near it and searching otherwise; it leaves *cur at j.
func seek(xs []float64, x float64, cur *int) int {
	n := len(xs) - 1
	j := *cur
	if j < 0 || j >= n || xs[j] > x {
		j = sort.Search(n, func(i int) bool { return xs[i+1] > x })
	} else {
		for k := 0; j < n && xs[j+1] <= x; k++ {
			if k == 8 {
				j += sort.Search(n-j, func(i int) bool { return xs[j+i+1] > x })
				break
			}
			j++
		}
	}
	*cur = j
	return j
}
