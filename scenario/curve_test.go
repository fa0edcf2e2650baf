package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// allCurves is every shape, chained so each starts from the previous end rate.
func allCurves(t testing.TB) map[string]*Curve {
	t.Helper()
	stages := map[string][]Stage{
		"ramp":     {{Duration: Duration(10 * time.Second), RPS: 100}, {Duration: Duration(5 * time.Second), RPS: 0}},
		"constant": {{Duration: Duration(10 * time.Second), Shape: ShapeConstant, RPS: 50}},
		"step":     {{Duration: Duration(8 * time.Second), Shape: ShapeStep, RPS: 80, Steps: 4}},
		"sine":     {{Duration: Duration(24 * time.Hour), Shape: ShapeSine, Peak: 1000, Period: Duration(12 * time.Hour)}},
		"spike":    {{Duration: Duration(30 * time.Minute), Shape: ShapeMidnightSpike, Peak: 350000, RPS: 50000}},
		"day":      {{Duration: Duration(22 * time.Hour), Shape: ShapeDoubleElevenDay, Peak: 60000}},
		"chain": {{Duration: Duration(time.Hour), RPS: 20000}, {Duration: Duration(30 * time.Minute), Shape: ShapeMidnightSpike, Peak: 350000},
			{Duration: Duration(time.Hour), Shape: ShapeSine, Peak: 90000}, {Duration: Duration(time.Hour), Shape: ShapeDoubleElevenDay, Peak: 60000}},
		// a one-second decay: the spike table's long series; a 0.1 s decay: math.Exp directly;
		// ten days and a month of hourly waves: 240 and 720 periods on one period's knots
		"sine-10-days":  {{Duration: Duration(10 * 24 * time.Hour), Shape: ShapeSine, Peak: 500, Period: Duration(time.Hour)}},
		"spike-short":   {{Duration: Duration(30 * time.Minute), Shape: ShapeMidnightSpike, Peak: 350000, RPS: 100, Decay: Duration(time.Second)}},
		"spike-shorter": {{Duration: Duration(30 * time.Minute), Shape: ShapeMidnightSpike, Peak: 350000, RPS: 100, Decay: Duration(100 * time.Millisecond)}},
		"sine-month":    {{Duration: Duration(30 * 24 * time.Hour), Shape: ShapeSine, Peak: 500, Period: Duration(time.Hour)}},
	}
	out := map[string]*Curve{}
	for name, st := range stages {
		c, err := NewCurve(10, st)
		if err != nil {
			t.Fatal(name, err)
		}
		out[name] = c
	}
	// a sine from 0: the rate vanishes at every trough (the guess falls back to the linear rate)
	zc, err := NewCurve(0, []Stage{{Duration: Duration(time.Hour), Shape: ShapeSine, Peak: 2000, Period: Duration(20 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	out["sine-from-0"] = zc
	rc, err := NewReplayCurve([]Point{{0, 5}, {time.Second, 50}, {3 * time.Second, 50}, {4 * time.Second, 0}, {6 * time.Second, 20}}, 8*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	out["replay"] = rc
	return out
}

// The integral is monotone, matches the numerical integral of Rate, and Inverse inverts it.
func TestCurveProperties(t *testing.T) {
	for name, c := range allCurves(t) {
		t.Run(name, func(t *testing.T) {
			d := c.Duration()
			const n = 4000
			prev, simpson := -1.0, 0.0
			h := d.Seconds() / n
			for i := 0; i <= n; i++ {
				tt := time.Duration(float64(d) * float64(i) / n)
				in := c.Integral(tt)
				if in < prev-1e-9*math.Max(1, in) {
					t.Fatalf("integral decreases at %v: %v after %v", tt, in, prev)
				}
				prev = in
				if i < n { // Simpson on each [i, i+1] of the grid
					a, b := tt.Seconds(), tt.Seconds()+h
					simpson += h / 6 * (c.Rate(secs(a)) + 4*c.Rate(secs((a+b)/2)) + c.Rate(secs(b)))
				}
			}
			if rel := math.Abs(simpson-c.Total()) / c.Total(); rel > 2e-3 { // jumps (step) cost Simpson some accuracy
				t.Errorf("total %v, Simpson %v (rel %v)", c.Total(), simpson, rel)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 2000 {
				m := rng.Float64() * c.Total()
				u := c.Inverse(m)
				got := c.Integral(u)
				r := math.Max(c.Rate(u), 1e-9)
				// within 2 ns, beyond what float64 can hold of the integral at this rate
				if math.Abs(got-m)/r > 2e-9+8*c.Total()*0x1p-52/r {
					t.Fatalf("Integral(Inverse(%v)) = %v at %v (rate %v)", m, got, u, r)
				}
			}
		})
	}
}

func TestSpikeReachesPeakIn26s(t *testing.T) {
	c, _ := NewCurve(20000, []Stage{{Duration: Duration(30 * time.Minute), Shape: ShapeMidnightSpike, Peak: 350000}})
	if r := c.Rate(26 * time.Second); r != 350000 {
		t.Errorf("rate at 26s = %v, want the peak", r)
	}
	if r := c.Rate(13 * time.Second); r != 185000 {
		t.Errorf("rate at 13s = %v, want half way", r)
	}
	if c.Peak() != 350000 {
		t.Errorf("peak %v", c.Peak())
	}
	if r := c.Rate(30 * time.Minute); r < 20000 || r > 20000+330000*0.007 { // e^-5 of the way down with the default decay
		t.Errorf("end rate %v, want within e^-5 of the floor (start rate)", r)
	}
}

func TestReplayFromCSV(t *testing.T) {
	s, err := Load("testdata/replay.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Curve()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		t    time.Duration
		want float64
	}{{0, 100}, {500 * time.Millisecond, 150}, {time.Second, 200}, {3 * time.Second, 200}, {4 * time.Second, 0}, {10 * time.Second, 0}} {
		if got := c.Rate(x.t); math.Abs(got-x.want) > 1e-9 {
			t.Errorf("rate at %v = %v, want %v", x.t, got, x.want)
		}
	}
	if c.Total() != 150+400+100 || s.Duration.D() != 10*time.Second {
		t.Errorf("total %v duration %v", c.Total(), s.Duration.D())
	}
}

func ExampleNewCurve() {
	// k6 semantics: start at 0 and ramp to 100/s over 10s, hold, then ramp down.
	c, _ := NewCurve(0, []Stage{
		{Duration: Duration(10 * time.Second), RPS: 100},
		{Duration: Duration(10 * time.Second), Shape: ShapeConstant, RPS: 100},
		{Duration: Duration(10 * time.Second), RPS: 0},
	})
	fmt.Println(c.Rate(5*time.Second), c.Integral(10*time.Second), c.Total(), c.Inverse(500))
	// Output: 50 500 2000 10s
}

func ExampleCurve_Inverse() {
	// The midnight spike: from 20k/s to 350k/s in 26 s, then an exponential decay.
	c, _ := NewCurve(20000, []Stage{{Duration: Duration(30 * time.Minute), Shape: ShapeMidnightSpike, Peak: 350000}})
	millionth := c.Inverse(1e6)
	fmt.Printf("the millionth arrival comes %v after midnight, at %.0f/s\n", millionth.Round(time.Millisecond), c.Rate(millionth))
	// Output: the millionth arrival comes 11.076s after midnight, at 160576/s
}

func ExamplePlay_Arrivals() {
	s, _ := Parse("example.yaml", []byte(strings.TrimSpace(`
skus: [{sku: x, price: 1}]
compress: 2                 # two scenario seconds per wall second
traffic: {arrivals: uniform, start_rps: 4, stages: [{duration: 2s, rps: 4}]}
journeys: [{steps: [{view: {sku: x}}]}]`)))
	p, _ := s.Play(PlayOptions{})
	it := p.Arrivals()
	for a, ok := it.Next(); ok; a, ok = it.Next() {
		fmt.Println(a.Seq, a.Wall, a.Scenario)
	}
	// Output:
	// 0 0s 0s
	// 1 250ms 500ms
	// 2 500ms 1s
	// 3 750ms 1.5s
}

// Every piece's inverse, before rounding to the nanosecond, is within the 0.25 ns the package
// promises (plus the integral's own rounding), and depends on m alone: whatever the search
// cursor held, the same m gives the same bits (segments see the same arrival times).
func TestPieceInverseExactAndCursorFree(t *testing.T) {
	for name, c := range allCurves(t) {
		for i, pt := range c.parts {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				checkPieceInverse(t, pt, rand.New(rand.NewPCG(5, uint64(i))), 5000)
			})
		}
	}
}

// The same on random sines and spikes: any period, duration, rise, decay and levels.
func TestRandomShapesInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	sec := func(lo, hi float64) Duration { return Duration(secs(lo * math.Pow(hi/lo, rng.Float64()))) }
	for i := range 60 {
		st := Stage{Duration: sec(1, 40*86400), Peak: 1 + rng.Float64()*4e5, RPS: rng.Float64() * 1e5}
		if i%2 == 0 {
			st.Shape, st.Period = ShapeSine, sec(0.5, 86400)
		} else {
			st.Shape, st.Decay = ShapeMidnightSpike, sec(0.01, 86400)
			st.Rise = Duration(float64(st.Duration) * rng.Float64() * 0.5)
		}
		start := rng.Float64() * 1e5
		if i%5 == 0 {
			start = 0
		}
		c, err := NewCurve(start, []Stage{st})
		if err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
		t.Run(fmt.Sprintf("%d-%s", i, st.Shape), func(t *testing.T) {
			t.Logf("start %v, %+v", start, st)
			checkPieceInverse(t, c.parts[0], rng, 300)
		})
	}
}

func checkPieceInverse(t *testing.T, pt part, rng *rand.Rand, n int) {
	t.Helper()
	total := pt.p.integral(pt.d)
	prev := 0
	for range n {
		m := rng.Float64() * total
		cur := 0
		u := pt.p.inverse(m, &cur)
		r := pt.p.rate(u)
		if r > 1e-6 {
			slack := 2.5e-10 + 8*math.Abs(total)*0x1p-52/r // the integral's rounding, as time
			if err := math.Abs(pt.p.integral(u)-m) / r; err > slack {
				t.Fatalf("inverse(%v) = %v: off by %.3g s (rate %v), want ≤ %.3g", m, u, err, r, slack)
			}
		}
		for _, start := range []int{prev, cur + 1, cur - 1, 1 << 20, -1} {
			c2 := start
			if u2 := pt.p.inverse(m, &c2); math.Float64bits(u2) != math.Float64bits(u) {
				t.Fatalf("inverse(%v) = %v from cursor %d, %v from 0", m, u2, start, u)
			}
		}
		prev = cur
	}
}
