//go:build flashload_newton

// The simple alternative to the tables' series (curve_series.go), built only with
// -tags flashload_newton: Newton on the closed forms (math.Sincos, math.Exp) from a guess that
// depends on m alone. The whole-job benchmark (scripts/bench-optimisations) measures the series
// against it, and the series stays only while it saves at least 15% of a whole job. The curve's
// tests pass against both (but the series' own, curve_series_test.go).

package scenario

import "math"

// table is empty: the sine's and the spike's inverses evaluate their closed forms directly.
type table struct{}

func newSineTable(*sine) table   { return table{} }
func newSpikeTable(*spike) table { return table{} }

// inverse brackets u by the sine's bounded swing (F(u) = a·u - (amp/ω)·sin ωu is within amp/ω of
// a·u) and runs Newton from m/a.
func (s *sine) inverse(m float64, _ *int) float64 {
	a, b := s.low+s.amp, math.Abs(s.amp/s.w)
	if !(a > 0) {
		return 0
	}
	lo, hi := min(max((m-b)/a, 0), s.d), min(max((m+b)/a, 0), s.d)
	return newton(m, lo, hi, min(max(m/a, lo), hi), 1/s.w, func(u float64) (float64, float64, float64) {
		sn, cs := math.Sincos(s.w * u)
		return a*u - s.amp/s.w*sn, a - s.amp*cs, s.amp * s.w * sn
	})
}

// inverse solves the rise in closed form and the decay by Newton, in v = u - rise: the rate lies
// between the peak and the floor, which brackets v; the guess is the least of the upper bounds
// M/floor and the decay alone's closed form.
func (s *spike) inverse(m float64, _ *int) float64 {
	base := s.riseArea()
	if m < base {
		return linInverse(s.r0, (s.peakR-s.r0)/s.rise, m, s.rise)
	}
	M, a, w := m-base, s.peakR-s.floor, s.d-s.rise
	fmax, fmin := max(s.peakR, s.floor), min(s.peakR, s.floor)
	if !(fmax > 0) {
		return s.rise
	}
	lo, hi := min(M/fmax, w), w
	if fmin > 0 {
		hi = min(M/fmin, w)
	}
	v := hi
	if a > 0 && M < a*s.tau {
		v = min(v, -s.tau*math.Log1p(-M/(a*s.tau)))
	}
	v = newton(M, lo, hi, max(v, lo), s.tau, func(v float64) (float64, float64, float64) {
		e := math.Exp(-v / s.tau)
		return s.floor*v + a*s.tau*(1-e), s.floor + a*e, -a / s.tau * e
	})
	return s.rise + v
}

// newton returns u in [lo, hi] with F(u) = m to 0.25 ns, for an increasing F (returning F and
// its first two derivatives f, df) with F(lo) ≤ m ≤ F(hi), starting from u: Newton steps, each
// evaluation narrowing the bracket, and bisection where a step would leave it. It stops when the
// step, or the error left after it (step²·|df|/2f, Newton's quadratic convergence, for a step
// short of the scale over which df changes), is below the tolerance. The result depends on the
// arguments alone.
func newton(m, lo, hi, u, scale float64, F func(u float64) (F, f, df float64)) float64 {
	const tol = 2.5e-10 // a quarter of the nanosecond arrival times are rounded to
	for i := 0; ; i++ {
		Fu, f, df := F(u)
		g := Fu - m
		switch {
		case g > 0:
			hi = u
		case g < 0:
			lo = u
		default:
			return u
		}
		next := u
		if f > 0 {
			step := g / f
			next = u - step
			if a := math.Abs(step); a < tol || a < 1e-4*scale && next > lo && next < hi && step*step*math.Abs(df) < tol*f {
				return min(max(next, lo), hi)
			}
		}
		best := min(max(next, lo), hi)
		if !(f > 0 && next > lo && next < hi) {
			next = lo + (hi-lo)/2
		}
		if !(next > lo && next < hi) || hi-lo < tol || i == 200 {
			return best
		}
		u = next
	}
}
