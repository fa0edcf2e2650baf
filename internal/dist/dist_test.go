package dist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		in   string
		want Spec
	}{
		{"exp:5ms", Spec{Kind: Exponential, Mean: 5 * ms}},
		{"exponential:1s", Spec{Kind: Exponential, Mean: time.Second}},
		{"const:5ms", Spec{Kind: Deterministic, Mean: 5 * ms}},
		{" deterministic:250us ", Spec{Kind: Deterministic, Mean: 250 * time.Microsecond}},
		{"lognormal:p50=4ms,p99=30ms", Spec{Kind: LogNormal, P50: 4 * ms, P99: 30 * ms}},
		{"lognormal:p99=30ms, p50=4ms", Spec{Kind: LogNormal, P50: 4 * ms, P99: 30 * ms}},
	} {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v", c.in, got.String(), again, err)
		}
	}
	for _, bad := range []string{"", "exp", "exp:", "exp:-5ms", "exp:0s", "const:5", "uniform:5ms",
		"lognormal:p50=4ms", "lognormal:p50=30ms,p99=4ms", "lognormal:p50=4ms,p99=30ms,p90=9ms",
		"lognormal:p50=4ms,p50=5ms,p99=30ms", "lognormal:4ms,30ms", "exp:5ms,p99=1s"} {
		if sp, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, sp)
		}
	}
}

func TestNewFromAModel(t *testing.T) {
	sp, err := New("lognormal", 0, 8*time.Millisecond, 60*time.Millisecond)
	if err != nil || sp.String() != "lognormal:p50=8ms,p99=60ms" {
		t.Fatalf("%q %v", sp.String(), err)
	}
	if sp, err := New("exponential", 10*time.Millisecond, 0, 0); err != nil || sp.String() != "exp:10ms" {
		t.Fatalf("%q %v", sp.String(), err)
	}
	for _, bad := range []string{"empirical", "uniform"} {
		if _, err := New(bad, time.Millisecond, 0, 0); err == nil {
			t.Errorf("New(%q): no error", bad)
		}
	}
}

// The samples follow the distribution: mean and quantiles within a few percent over 200k draws.
func TestSampleMatchesTheDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	quantile := func(s []time.Duration, q float64) time.Duration { return s[int(q*float64(len(s)-1))] }
	near := func(what string, got, want time.Duration, tol float64) {
		t.Helper()
		if math.Abs(float64(got-want)) > tol*float64(want) {
			t.Errorf("%s = %s, want %s ± %.0f%%", what, got, want, tol*100)
		}
	}
	for _, in := range []string{"exp:10ms", "const:7ms", "lognormal:p50=4ms,p99=30ms"} {
		sp, _ := Parse(in)
		s := make([]time.Duration, 200_000)
		var sum time.Duration
		for i := range s {
			s[i] = sp.Sample(r)
			sum += s[i]
		}
		slices.Sort(s)
		near(in+" mean", sum/time.Duration(len(s)), sp.MeanTime(), 0.02)
		switch sp.Kind {
		case Exponential: // median ln 2 · mean, p99 ln 100 · mean
			near(in+" p50", quantile(s, 0.5), time.Duration(math.Ln2*float64(sp.Mean)), 0.03)
			near(in+" p99", quantile(s, 0.99), time.Duration(math.Log(100)*float64(sp.Mean)), 0.05)
		case LogNormal:
			near(in+" p50", quantile(s, 0.5), sp.P50, 0.03)
			near(in+" p99", quantile(s, 0.99), sp.P99, 0.05)
		case Deterministic:
			if s[0] != sp.Mean || s[len(s)-1] != sp.Mean {
				t.Errorf("%s: samples from %s to %s", in, s[0], s[len(s)-1])
			}
		}
	}
	if d := (Spec{Kind: Exponential, Mean: time.Millisecond}).Sample(nil); d < 0 {
		t.Errorf("global source: %s", d)
	}
}

// FuzzParse: any input either fails or gives a valid Spec that prints back to itself and samples
// non-negative times.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"exp:5ms", "const:5ms", "lognormal:p50=4ms,p99=30ms", "exp:", "lognormal:p50=1h,p99=2h", "x:y=z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sp, err := Parse(in)
		if err != nil {
			return
		}
		again, err := Parse(sp.String())
		if err != nil || again != sp {
			t.Fatalf("Parse(%q) = %+v; its String %q parses to %+v, %v", in, sp, sp.String(), again, err)
		}
		if d := sp.Sample(rand.New(rand.NewPCG(3, 4))); d < 0 {
			t.Fatalf("%q sampled %s", in, d)
		}
	})
}
