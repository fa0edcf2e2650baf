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
// input alone (see table). Every shape generates more than 10 million arrival times per CPU
// second on one core (BenchmarkArrivals: 14 to 55 million measured).
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
func (s *sine) inverse(m float64, cur *int) float64 { return s.tab.solve(m, cur) }
func (s *sine) end() float64                        { return s.rate(s.d) }
func (s *sine) peak() float64 {
	if s.w*s.d >= math.Pi {
		return math.Max(s.low, s.low+2*s.amp)
	}
	return math.Max(s.low, s.rate(s.d))
}

// newSineTable tabulates one period of the sine (sin, cos of ω·u and the rate's Taylor data at
// sinePhases knots): the knots of every later period are the same phases, their u and F
// computed from the knot's index, so any number of periods costs one period's table.
func newSineTable(s *sine) table {
	period := 2 * math.Pi / s.w
	h := period / sinePhases
	t := table{kind: kindSine, a: s.low + s.amp, b: s.amp / s.w, amp: s.amp, w: s.w, h: h,
		uEnd: s.d, mEnd: s.integral(s.d)}
	t.cells = int(math.Ceil(s.d / h))
	if !(t.cells >= 1 && t.cells < 1<<52) { // a sine whose period is too short for float64 time
		t.cells = 1
	}
	t.u0, t.m0 = 0, s.integral(0)
	t.k = make([]knot, sinePhases+1)
	for p := range t.k {
		u := float64(p) * h
		sn, cs := math.Sincos(s.w * u)
		t.k[p] = knotAt(u, 0, s.rate(u), sn, cs, s.amp*s.w*sn, s.amp*s.w*s.w*cs)
	}
	for p := 0; p < sinePhases; p++ {
		t.k[p].k = (t.k[p+1].r - t.k[p].r) / h
	}
	return t
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

func (s *spike) inverse(m float64, cur *int) float64 {
	if m < s.tab.base {
		return linInverse(s.r0, (s.peakR-s.r0)/s.rise, m, s.rise)
	}
	return s.tab.solve(m, cur)
}

func (s *spike) end() float64  { return s.rate(s.d) }
func (s *spike) peak() float64 { return math.Max(math.Max(s.r0, s.peakR), s.floor) }

// newSpikeTable tabulates the decay's integral with exp(-(u-rise)/tau) at every knot.
func newSpikeTable(s *spike) table {
	a := s.peakR - s.floor
	t := table{kind: kindSpike, base: s.riseArea(), rise: s.rise, tau: s.tau, itau: 1 / s.tau, floor: s.floor, amp: a,
		uEnd: s.d, mEnd: s.integral(s.d)}
	span := (s.d - s.rise) / s.tau
	n := minKnots
	if c := math.Ceil(span / maxArg); c > float64(n) {
		n = int(min(c, maxKnots))
	}
	t.wide = !(span/float64(n) <= maxArg)
	t.direct = !(span/float64(n) <= maxArgWide)
	t.cells = n
	t.k = make([]knot, n+1)
	for j := range t.k {
		u := s.rise + (s.d-s.rise)*float64(j)/float64(n)
		if j == n {
			u = s.d
		}
		e := math.Exp(-(u - s.rise) / s.tau)
		t.k[j] = knotAt(u, s.integral(u), s.rate(u), e, 0, -a/s.tau*e, a/(s.tau*s.tau)*e)
	}
	for j := 0; j < n; j++ {
		t.k[j].k = (t.k[j+1].r - t.k[j].r) / (t.k[j+1].u - t.k[j].u)
	}
	t.u0, t.m0, t.mEnd = t.k[0].u, t.k[0].m, t.k[n].m
	return t
}

// table samples an increasing integral F on a grid of knots, so an inverse starts Newton from a
// guess that depends on m alone: every segment of a schedule computes bit-identical arrival
// times, whatever arrival it saw before. The guess is the inverse's Taylor polynomial of degree
// 3 at the knot (the derivatives of u(m) are 1/f, -df/f³ and (3df² - f·ddf)/f⁵, with df and ddf
// the rate's first and second derivatives), so one Newton step lands far inside the tolerance.
// Each knot also keeps the transcendental part of F there (sin and cos of ω·u for a sine, the
// decay's exponential for a spike), so F at u inside the knot's cell is an angle addition (or a
// product) with a short Taylor series of the small offset: no math.Sincos or math.Exp per
// arrival. A sine's knots are sinePhases per period (the offset's angle at most 2π/2048), one
// period stored whatever the number of periods. A spike's cells are narrow enough (the offset
// at most maxArg time constants) for a short series; a decay over too many time constants for
// maxKnots cells takes a longer series (up to maxArgWide), and beyond evaluates math.Exp.
type table struct {
	k      []knot
	kind   int
	cells  int     // cells in all: a sine's run over the periods, knot j at phase j mod sinePhases
	h      float64 // a sine's cell width
	u0, m0 float64 // the start of the first cell and F there
	uEnd   float64 // the end of the last cell (it may be shorter than h)
	mEnd   float64 // F(uEnd)
	wide   bool    // a spike's cells wider than maxArg (up to maxArgWide): the longer series
	direct bool    // a spike's cells too wide for any series: math.Exp at every evaluation

	// sine: F = a·u - b·sin(ωu), f = a - amp·cos(ωu), f' = amp·ω·sin(ωu)
	a, b, w float64
	// spike (u ≥ rise): F = base + floor·v + amp·tau·(1-e), f = floor + amp·e, f' = -amp/tau·e,
	// with v = u - rise and e = exp(-v/tau)
	base, rise, tau, itau, floor float64
	amp                          float64
}

// knot is one grid point: u, F(u) (a spike's; a sine's are computed), f(u), the slope of f to the
// next knot, the inverse's Taylor coefficients (u ≈ u_j + Δ·ir·(1 + Δ·(c2 + Δ·c3)) with
// ir = 1/f; ir is 0 where f ≤ 0), and the transcendental parts at u (sin, cos of ωu; or the
// spike's e in s).
type knot struct{ u, m, r, k, ir, c2, c3, s, c float64 }

func knotAt(u, m, r, s, c, df, ddf float64) knot {
	kn := knot{u: u, m: m, r: r, s: s, c: c}
	if r > 0 {
		kn.ir = 1 / r
		kn.c2 = -df / (2 * r * r)
		kn.c3 = (3*df*df - r*ddf) / (6 * r * r * r * r)
	}
	return kn
}

const (
	kindSine = iota + 1
	kindSpike

	sinePhases = 2048 // knots per period of a sine: the series' angle is at most 2π/2048 ≈ 0.0031
	minKnots   = 1024
	maxKnots   = 1 << 14
	maxArg     = 0.0031 // largest argument of the short series: ω·h for a sine, h/tau for a spike
	maxArgWide = 0.25   // largest argument of a spike's long series (when maxKnots cannot keep maxArg)
)

// cell is cell j: its left knot and its bounds.
func (t *table) cell(j int) (kn *knot, lo, hi float64) {
	if t.kind == kindSine {
		kn = &t.k[j&(sinePhases-1)]
		lo = float64(j) * t.h
		hi = float64(j+1) * t.h
		if j+1 >= t.cells {
			hi = t.uEnd
		}
		return kn, lo, hi
	}
	kn = &t.k[j]
	return kn, kn.u, t.k[j+1].u
}

// mAt is F at the start of cell j (at the end for j = cells).
func (t *table) mAt(j int) float64 {
	if j >= t.cells {
		return t.mEnd
	}
	if t.kind == kindSine {
		return t.a*(float64(j)*t.h) - t.b*t.k[j&(sinePhases-1)].s
	}
	return t.k[j].m
}

// eval is F, f and f' at u in the cell starting at lo with knot kn.
func (t *table) eval(kn *knot, lo, u float64) (F, f, df float64) {
	if t.kind == kindSine {
		sx, cx := sinCosSmall(t.w * (u - lo))
		sn, cs := kn.s*cx+kn.c*sx, kn.c*cx-kn.s*sx
		return t.a*u - t.b*sn, t.a - t.amp*cs, t.amp * t.w * sn
	}
	v := u - t.rise
	var e float64
	switch {
	case t.direct:
		e = math.Exp(-v / t.tau)
	case !t.wide:
		e = kn.s * expNegSmall((u-lo)*t.itau)
	default:
		e = kn.s * expNegWide((u-lo)*t.itau)
	}
	return t.base + t.floor*v + t.amp*t.tau*(1-e), t.floor + t.amp*e, -t.amp * t.itau * e
}

// sinCosSmall is sin x and cos x for 0 ≤ x ≤ maxArg by their Taylor series: the first terms
// left out, x⁷/7! and x⁶/6!, are below 10⁻¹⁸·x and 10⁻¹⁷.
func sinCosSmall(x float64) (float64, float64) {
	x2 := x * x
	return x + x*x2*(-1.0/6+x2*(1.0/120)), 1 + x2*(-1.0/2+x2*(1.0/24))
}

// expNegSmall is exp(-y) for 0 ≤ y ≤ maxArg by its Taylor series (y⁶/6! is below 10⁻¹⁷).
func expNegSmall(y float64) float64 {
	return 1 - y + y*y*(1.0/2+y*(-1.0/6+y*(1.0/24+y*(-1.0/120))))
}

// expNegWide is exp(-y) for 0 ≤ y ≤ maxArgWide by its Taylor series (y¹³/13! is below 10⁻¹⁷).
func expNegWide(y float64) float64 {
	return 1 - y + y*y*(1.0/2+y*(-1.0/6+y*(1.0/24+y*(-1.0/120+y*(1.0/720+y*(-1.0/5040+
		y*(1.0/40320+y*(-1.0/362880+y*(1.0/3628800+y*(-1.0/39916800+y*(1.0/479001600)))))))))))
}

// solve returns u with F(u) = m, to 0.25 ns. The guess is the inverse's Taylor polynomial at the
// knot below m (the rate taken as linear across the cell where the rate is 0 there or the
// polynomial leaves the cell); Newton steps follow, kept inside the cell (bisection when a step
// leaves it). It stops when the step is below the tolerance, or when the error left after the
// step (step²·|f'|/2f, Newton's quadratic convergence) is: arrivals take one evaluation unless
// the rate nearly vanishes.
func (t *table) solve(m float64, cur *int) float64 {
	if m <= t.m0 {
		return t.u0
	}
	if m >= t.mEnd {
		return t.uEnd
	}
	j, mj := t.seek(m, cur)
	kn, lo, hi := t.cell(j)
	u0, u1 := lo, hi
	dm := m - mj
	u := lo + dm*kn.ir*(1+dm*(kn.c2+dm*kn.c3))
	if !(u > lo && u < hi) {
		u = lo + linInverse(kn.r, kn.k, dm, hi-lo)
	}
	const tol = 2.5e-10 // a quarter of the nanosecond arrival times are rounded to
	if q := kn.ir; q > 0 {
		// The first step divides by the rate without a division: q is 1/f(u) refined once from
		// the knot's 1/f (q·f = 1 - eps, |eps| = (1 - f(u)/f_j)², tiny inside a cell). The error
		// left after the step is the inexact reciprocal's share, |step·eps|, plus Newton's
		// step²·|f'|/2f; when both are far below the tolerance, that step is the answer.
		Fu, r, df := t.eval(kn, u0, u)
		q *= 2 - r*q
		step := (Fu - m) * q
		a := math.Abs(step)
		if a*(math.Abs(1-r*q)+a*math.Abs(df)*q/2) < tol/4 && a < hi-lo {
			return min(max(u-step, u0), u1)
		}
	}
	for range 100 {
		Fu, r, df := t.eval(kn, u0, u)
		g := Fu - m
		if r > 0 {
			step := g / r
			if a := math.Abs(step); a < tol || a < hi-lo && step*step*math.Abs(df) < tol/2*r {
				return min(max(u-step, u0), u1)
			}
		}
		if g > 0 {
			hi = u
		} else {
			lo = u
		}
		next := u - g/r
		if r <= 0 || math.IsNaN(next) || next <= lo || next >= hi {
			next = (lo + hi) / 2
		}
		if hi-lo < tol {
			return next
		}
		u = next
	}
	return u
}

// seek returns the cell j with mAt(j) ≤ m < mAt(j+1) and mAt(j), walking from *cur when m is
// near it and searching otherwise; it leaves *cur at j.
func (t *table) seek(m float64, cur *int) (int, float64) {
	n := t.cells
	j := *cur
	if j >= 0 && j < n {
		if mj := t.mAt(j); mj <= m && m < t.mAt(j+1) { // the common case: still in the cell
			return j, mj
		}
	}
	if j < 0 || j >= n || t.mAt(j) > m {
		j = sort.Search(n, func(i int) bool { return t.mAt(i+1) > m })
	} else {
		for s := 0; j < n && t.mAt(j+1) <= m; s++ {
			if s == 8 {
				j += sort.Search(n-j, func(i int) bool { return t.mAt(j+i+1) > m })
				break
			}
			j++
		}
	}
	j = min(j, n-1)
	*cur = j
	return j, t.mAt(j)
}

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
