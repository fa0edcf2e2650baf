//go:build !flashload_newton

package scenario

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The tables' series (angle addition for the sine, a product for the spike's exponential)
// agree with the closed forms to a few units in the last place, at knots and between them.
func TestTableSeriesMatchesClosedForms(t *testing.T) {
	sn := &sine{low: 100, amp: 45000, w: 2 * math.Pi / 20000, d: 20000}
	sn.tab = newSineTable(sn)
	sp := &spike{r0: 10000, peakR: 350000, floor: 10000, rise: 26, tau: 5000, d: 20000}
	sp.tab = newSpikeTable(sp)
	snw := &sine{low: 100, amp: 45000, w: 2 * math.Pi / 100, d: 20000} // 200 periods, one period's knots
	snw.tab = newSineTable(snw)
	spw := &spike{r0: 10000, peakR: 350000, floor: 10000, rise: 26, tau: 5, d: 20000} // 4000 decay times
	spw.tab = newSpikeTable(spw)
	if sp.tab.direct || sp.tab.wide || len(snw.tab.k) != sinePhases+1 || snw.tab.cells-200*sinePhases > 1 || snw.tab.cells < 200*sinePhases {
		t.Fatalf("short series: spike %v/%v, sine %d knots %d cells", sp.tab.wide, sp.tab.direct, len(snw.tab.k), snw.tab.cells)
	}
	if spw.tab.direct || !spw.tab.wide {
		t.Fatal("this spike should use the long series")
	}
	check := func(name string, tb *table, F, f func(float64) float64, scaleF, scaleR float64) {
		rng := rand.New(rand.NewPCG(9, 9))
		for range 20000 {
			kn, lo, hi := tb.cell(rng.IntN(tb.cells))
			u := lo + rng.Float64()*(hi-lo)
			gF, gf, _ := tb.eval(kn, lo, u)
			if d := math.Abs(gF - F(u)); d > 16*0x1p-52*scaleF {
				t.Fatalf("%s: F(%v) = %v, closed form %v", name, u, gF, F(u))
			}
			if d := math.Abs(gf - f(u)); d > 16*0x1p-52*scaleR {
				t.Fatalf("%s: f(%v) = %v, closed form %v", name, u, gf, f(u))
			}
		}
	}
	// A sine's closed forms round ω·u before its sin and cos: that costs amp·ω·u·ε of the rate
	// (and amp·u·ε of the integral), which the slack takes in.
	check("sine", &sn.tab, sn.integral, sn.rate, sn.integral(sn.d)+sn.amp/sn.w+sn.amp*sn.d, sn.low+2*sn.amp+sn.amp*sn.w*sn.d)
	check("spike", &sp.tab, sp.integral, sp.rate, sp.integral(sp.d), sp.peakR)
	check("sine, 200 periods", &snw.tab, snw.integral, snw.rate, snw.integral(snw.d)+snw.amp/snw.w+snw.amp*snw.d, snw.low+2*snw.amp+snw.amp*snw.w*snw.d)
	check("spike, long series", &spw.tab, spw.integral, spw.rate, spw.integral(spw.d), spw.peakR)
}

// The series agree with math.Sincos and math.Exp to within two units in the last place over
// their whole range.
func TestSmallSeries(t *testing.T) {
	ulps := func(got, want float64) float64 {
		return math.Abs(got-want) / (math.Nextafter(want, math.Inf(1)) - want)
	}
	for i := 0; i <= 100000; i++ {
		x := maxArg * float64(i) / 100000
		s, c := sinCosSmall(x)
		ws, wc := math.Sincos(x)
		if x > 0 && ulps(s, ws) > 2 || ulps(c, wc) > 2 {
			t.Fatalf("sinCosSmall(%v) = %v, %v; math.Sincos %v, %v", x, s, c, ws, wc)
		}
		if e, we := expNegSmall(x), math.Exp(-x); ulps(e, we) > 2 {
			t.Fatalf("expNegSmall(%v) = %v; math.Exp %v", x, e, we)
		}
		y := maxArgWide * float64(i) / 100000
		if e, we := expNegWide(y), math.Exp(-y); ulps(e, we) > 2 {
			t.Fatalf("expNegWide(%v) = %v; math.Exp %v", y, e, we)
		}
	}
}
