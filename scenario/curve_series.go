//go:build !flashload_newton

// The sine's and the spike's inverses: tables of series, so an arrival costs no math.Sincos or
// math.Exp. -tags flashload_newton builds the simple alternative (curve_newton.go) instead, for
// the whole-job benchmark that keeps this file in the tree (scripts/bench-optimisations).

package scenario

import (
	"math"
	"sort"
)

func (s *sine) inverse(m float64, cur *int) float64 { return s.tab.solve(m, cur) }

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

func (s *spike) inverse(m float64, cur *int) float64 {
	if m < s.tab.base {
		return linInverse(s.r0, (s.peakR-s.r0)/s.rise, m, s.rise)
	}
	return s.tab.solve(m, cur)
}

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
