package scenario

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestBundledScenarios(t *testing.T) {
	infos := Bundled()
	want := []string{"autoscale-spread", "bot-storm", "constant-2k", "consumer-crash", "double-eleven", "first-100-half-price", "group-buy", "ladder-price", "midnight-flash-sale", "redis-failover", "redis-restart", "replica-kill", "retry-storm", "store-latency", "team-coupon"}
	if len(infos) != len(want) {
		t.Fatalf("bundled %v, want %v", BundledNames(), want)
	}
	for i, in := range infos {
		if in.Name != want[i] {
			t.Errorf("bundled[%d] = %q, want %q", i, in.Name, want[i])
		}
		s, err := Load(in.Name)
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		if in.Description == "" || strings.Contains(in.Description, "\n") || in.Peak <= 0 || in.Duration <= 0 {
			t.Errorf("%s: info %+v", in.Name, in)
		}
		if s.Name != in.Name {
			t.Errorf("%s: name %q differs from its file", in.Name, s.Name)
		}
		if in.Name != "constant-2k" && (s.Model == nil || len(s.Gates) == 0) {
			t.Errorf("%s: needs a model for sim and gates", in.Name)
		}
		live, err := s.Play(PlayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if live.PeakRate() > 5000 {
			t.Errorf("%s: live peak %v/s is too much for a 2-core rehearsal", in.Name, live.PeakRate())
		}
		if live.WallDuration() > 70*time.Second {
			t.Errorf("%s: live play lasts %v", in.Name, live.WallDuration())
		}
		sim, err := s.Play(PlayOptions{Uncompressed: true, RateScale: 1})
		if err != nil || sim.WallDuration() != s.Duration.D() || sim.PeakRate() != in.Peak {
			t.Errorf("%s: sim play %v %v peak %v, want %v", in.Name, err, sim.WallDuration(), sim.PeakRate(), in.Peak)
		}
	}
}

// The default scenario plays a whole day in about a minute, with the midnight spike slowly.
func TestDoubleElevenDefault(t *testing.T) {
	s, err := Load(DefaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Play(PlayOptions{})
	if w := p.WallDuration(); w < 55*time.Second || w > 65*time.Second {
		t.Errorf("wall %v, want about 60s", w)
	}
	spikeAt := p.WallAt(time.Hour + 26*time.Second)
	if c := p.CompressAt(spikeAt); c > 100 {
		t.Errorf("the spike plays at compress %v, want slow", c)
	}
	if c := p.CompressAt(50 * time.Second); c < 1000 {
		t.Errorf("the day plays at compress %v, want fast", c)
	}
	if r := p.WallRate(spikeAt); math.Abs(r-3500) > 1 {
		t.Errorf("live rate at the peak %v, want 3500", r)
	}
	// --wall 120s rescales every stage proportionally.
	p2, _ := s.Play(PlayOptions{Wall: 2 * p.WallDuration()})
	if p2.WallDuration() != 2*p.WallDuration() || p2.CompressAt(2*spikeAt) != p.CompressAt(spikeAt)/2 {
		t.Errorf("wall rescale: %v, compress %v", p2.WallDuration(), p2.CompressAt(2*spikeAt))
	}
	if s.Users.Count != 5_000_000 || s.Model.Cache.HitRatio != 0.92 || s.Model.Autoscaler.Max != 300 || s.Model.DB.MaxShards != 128 {
		t.Errorf("seeds' figures: %+v %+v", s.Users, s.Model)
	}
}

const okBase = `
name: t
skus: [{sku: x, price: 1}]
traffic: {stages: [{duration: 1s, rps: 10}]}
journeys: [{name: j, steps: [{view: {sku: x}}]}]
`

func TestShortForms(t *testing.T) {
	s := mustParse(t, `
skus: [{sku: x, price: 1, stock: 20k}]
users: 5M
traffic: {start_rps: 2k/s, stages: [{duration: 1h30m, rps: 350k}, {duration: 90, rps: 1_000}]}
journeys:
  - steps:
      - think: 1s
      - request: {url: /buy, classify: [{status: 429, outcome: shed}, {status: [200, 201], outcome: acknowledged}]}
      - purchase: {retry: {on: 503, max: 2}}
      - pay: {probability: 95%}
model: {cache: {hit_ratio: 92%}}
`)
	if s.Users.Count != 5_000_000 || s.SKUs[0].Stock != 20000 || s.Traffic.StartRPS != 2000 {
		t.Errorf("counts: %+v %+v %v", s.Users, s.SKUs[0], s.Traffic.StartRPS)
	}
	if st := s.Traffic.Stages; st[0].RPS != 350000 || st[0].Duration.D() != 90*time.Minute || st[1].Duration.D() != 90*time.Second {
		t.Errorf("stages: %+v", st)
	}
	steps := s.Journeys[0].Steps
	if steps[0].Think.Fixed.D() != time.Second {
		t.Errorf("think: %+v", steps[0].Think)
	}
	if c := steps[1].Request.Classify; len(c[0].Status) != 1 || c[0].Status[0] != 429 || len(c[1].Status) != 2 {
		t.Errorf("classify: %+v", c)
	}
	if r := steps[2].Purchase.Retry; len(r.On) != 1 || r.On[0] != "503" || steps[2].Purchase.SKU != "x" || steps[2].Purchase.Qty != 1 {
		t.Errorf("purchase: %+v %+v", steps[2].Purchase, r)
	}
	if steps[3].Pay.Probability != 0.95 || s.Model.Cache.HitRatio != 0.92 {
		t.Errorf("percentages: %v %v", steps[3].Pay.Probability, s.Model.Cache.HitRatio)
	}
	if s.Seed != 1 || s.Compress != 1 || s.RateScale != 1 || s.Traffic.Arrivals != "poisson" || s.Traffic.Model != "open" || s.Journeys[0].Weight != 1 || s.API.Purchase != DefaultAPI.Purchase {
		t.Errorf("defaults: %+v", s)
	}
	if s.Name != "test" || s.Duration.D() != 90*time.Minute+90*time.Second {
		t.Errorf("name %q duration %v", s.Name, s.Duration.D())
	}
}

// Every problem is reported at once, each at its line and column.
func TestAllProblemsAtOnce(t *testing.T) {
	src := `name: bad
duration: 3s
seed: x
skus:
  - {sku: a, price: 0}
  - {sku: a, price: 1, stokc: 5}
traffic:
  arrivals: sometimes
  stages:
    - {duration: 1s, rps: -5}
    - {duration: 1h, shape: midnight-spik, peak: 10}
    - {duration: 0s, shape: sine}
journeys:
  - name: j
    steps:
      - {view: {sku: nope}}
      - {pay: {}}
      - {think: {min: 2s, max: 1s}}
      - {view: {sku: a}, think: 1s}
      - request: {url: "/x/{{usr}}", classify: [{status: 700, outcome: maybe}]}
gates: ["p(99) <"]
model: {autoscaler: {type: hpa, target_utilization: 0.7, min: 10, max: 5}}
`
	_, err := Parse("bad.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"bad.yaml:2:1: duration: 3s differs from the sum of the stages (1h0m1s)",
		"bad.yaml:3:7: seed: \"x\" is not a number",
		"bad.yaml:5:14: skus[0].price: must be > 0",
		"bad.yaml:6:6: skus[1].sku: \"a\" appears twice",
		"bad.yaml:6:24: skus[1].stokc: unknown key \"stokc\" (did you mean \"stock\"?)",
		"bad.yaml:8:3: traffic.arrivals: \"sometimes\": want poisson or uniform",
		"bad.yaml:10:22: traffic.stages[0].rps: must be ≥ 0",
		"bad.yaml:11:22: traffic.stages[1].shape: unknown shape \"midnight-spik\" (did you mean \"midnight-spike\"?)",
		"bad.yaml:12:7: traffic.stages[2].peak: shape sine needs peak > 0",
		"bad.yaml:12:8: traffic.stages[2].duration: must be > 0",
		"bad.yaml:16:17: journeys[0].steps[0].view.sku: unknown sku \"nope\" (known: a)",
		"bad.yaml:17:10: journeys[0].steps[1].pay: needs an earlier purchase",
		"bad.yaml:18:27: journeys[0].steps[2].think.max: must be more than min",
		"bad.yaml:19:9: journeys[0].steps[3]: a step is exactly one of view, think, purchase, ...; this one has view and think",
		"bad.yaml:20:19: journeys[0].steps[4].request.url: template \"/x/{{usr}}\": unknown variable {{usr}}",
		"bad.yaml:20:58: journeys[0].steps[4].request.classify[0].status[0]: 700 is not an HTTP status",
		"bad.yaml:20:63: journeys[0].steps[4].request.classify[0].outcome: \"maybe\": want one of",
		"bad.yaml:21:9: gates[0]: gate \"p(99) <\": col 8:",
		"bad.yaml:22:67: model.autoscaler.max:",
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(want) {
		t.Errorf("%d problems, want %d", n, len(want))
	}
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %q", w)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Error("errors are not *FieldError")
	}
	if t.Failed() {
		t.Log(msg)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"syntax", "name: [", "x.yaml:1:7: "},
		{"empty", "", "x.yaml: the file is empty"},
		{"not a mapping", "- 1\n", "must be a mapping"},
		{"no journeys", "skus: [{sku: x, price: 1}]\ntraffic: {stages: [{duration: 1s, rps: 1}]}", "journeys: needs at least one journey"},
		{"no traffic", "skus: [{sku: x, price: 1}]\njourneys: [{steps: [{view: {}}]}]", "traffic: needs stages or replay"},
		{"bad duration", strings.Replace(okBase, "1s", "1 hour", 1), `x.yaml:4:31: traffic.stages[0].duration: "1 hour" is not a duration`},
		{"bool where number", strings.Replace(okBase, "rps: 10", "rps: true", 1), "must be a number, not a boolean"},
		{"list where string", strings.Replace(okBase, "name: t", "name: [a]", 1), "name: must be a string, not a list"},
		{"duplicate key", okBase + "name: u\n", "x.yaml:6:1: mapping key \"name\" already defined"},
		{"missing replay", strings.Replace(okBase, "stages: [{duration: 1s, rps: 10}]", "replay: nope.csv", 1), "traffic.replay: open"},
		{"replay and stages", strings.Replace(okBase, "traffic: {", "traffic: {replay: x.csv, ", 1), "not both"},
		{"closed without vus", strings.Replace(okBase, "traffic: {", "traffic: {model: closed, ", 1), "traffic.vus: the closed model needs vus > 0"},
		{"zipf without skew", okBase + "users: {count: 10, ids: zipf}\n", "users.skew: zipf needs skew > 0"},
		{"user column without data", strings.Replace(okBase, "{view: {sku: x}}", "{request: {url: '/a/{{user.token}}'}}", 1), "needs a data file"},
		{"group without join", strings.Replace(okBase, "{view: {sku: x}}", "{purchase: {group: true}}", 1), "needs an earlier join_group"},
		{"bad api", okBase + "api: {purchase: 'post /buy'}\n", "api.purchase"},
		{"rise past the stage", strings.Replace(okBase, "{duration: 1s, rps: 10}", "{duration: 10s, shape: midnight-spike, peak: 5, rise: 20s}", 1), "rise: must be > 0 and shorter than the stage"},
		{"peak on a ramp", strings.Replace(okBase, "rps: 10}", "rps: 10, peak: 5}", 1), "only shape sine, midnight-spike, double-eleven-day"},
		{"alias", "a: &x 1\n" + okBase, "unknown key \"a\""},
		{"no users", okBase + "users: 0\n", "users: must be > 0"},
		{"no count", okBase + "users: {count: 0}\n", "users: count must be > 0"},
		{"vus on open", strings.Replace(okBase, "traffic: {", "traffic: {vus: 3, ", 1), "only the closed model reads vus"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestClosedModel(t *testing.T) {
	s := mustParse(t, "duration: 10s\nskus: [{sku: x, price: 1}]\ntraffic: {model: closed, vus: 64}\njourneys: [{steps: [{purchase: {}}]}]")
	p, err := s.Play(PlayOptions{Wall: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if p.WallDuration() != 5*time.Second || p.Total() != 0 || s.Traffic.VUs != 64 {
		t.Errorf("closed: wall %v total %v", p.WallDuration(), p.Total())
	}
	if _, ok := p.Arrivals().Next(); ok {
		t.Error("a closed model has no scheduled arrivals")
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	s := mustParse(t, `
skus: [{sku: x, price: 1}]
traffic:
  stages:
    - &hold {duration: 1s, shape: constant, rps: 10}
    - {<<: *hold, rps: 20}
journeys: [{steps: [{view: {sku: x}}]}]
`)
	if st := s.Traffic.Stages; len(st) != 2 || st[1].RPS != 20 || st[1].Shape != ShapeConstant {
		t.Errorf("stages %+v", st)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("no-such-scenario"); err == nil || !strings.Contains(err.Error(), "double-eleven") {
		t.Errorf("Load of an unknown name: %v (want the bundled names listed)", err)
	}
	if _, err := Load("missing/file.yaml"); err == nil {
		t.Error("Load of a missing path succeeded")
	}
}

func TestUnits(t *testing.T) {
	for in, want := range map[string]time.Duration{"1h30m": 90 * time.Minute, "250ms": 250 * time.Millisecond, "90": 90 * time.Second, "0.5": 500 * time.Millisecond, "1d12h": 36 * time.Hour, "2d": 48 * time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "1 hour", "h", "1e400", "NaN"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	for in, want := range map[string]float64{"350k": 350000, "5M": 5e6, "92%": 0.92, "2k/s": 2000, "2000rps": 2000, "1_000": 1000, "1e3": 1000, "1.5G": 1.5e9} {
		if got, err := ParseNumber(in); err != nil || math.Abs(got-want) > 1e-9*want {
			t.Errorf("ParseNumber(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "k", "abc", "1..2", "%", "1e308k"} {
		if _, err := ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) accepted", bad)
		}
	}
	if _, err := ParseCount("1.5"); err == nil {
		t.Error("ParseCount(1.5) accepted")
	}
	for in, want := range map[string]int64{"512": 512, "64KiB": 65536, "1.5MB": 1500000, "2MiB": 2 << 20, "1GB": 1e9, "10B": 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSize("-1KB"); err == nil {
		t.Error("negative size accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(okBase))
	f.Add([]byte("traffic: {stages: [{duration: 1s, shape: midnight-spike, peak: 10, rise: 100ms}]}\njourneys: [{steps: [{think: 1s}]}]"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	f.Add([]byte("skus: [{sku: x, price: 1}]\ntraffic: {arrivals: uniform, stages: [{duration: 2s, shape: step, rps: 5, steps: 3}, {duration: 1s, shape: sine, peak: 3}]}\njourneys: [{steps: [{purchase: {retry: {on: [503], max: 1}}}, {pay: {}}]}]"))
	f.Add([]byte("users: {count: 10, ids: zipf, skew: 1.1}\n"))
	f.Add([]byte("gates: [\"p(99) < 1s\", {expr: \"oversold == 0\", abort: true}, {abort: 1}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		p, err := s.Play(PlayOptions{Uncompressed: true, RateScale: 1})
		if err != nil {
			return
		}
		it := p.Arrivals()
		last := time.Duration(-1)
		for range 100 {
			a, ok := it.Next()
			if !ok {
				break
			}
			if a.Wall < last || a.Wall > p.WallDuration() {
				t.Fatalf("arrival %+v out of order or past the end (%v)", a, p.WallDuration())
			}
			last = a.Wall
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1h30m", "250ms", "90", "1d", "-5s", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil {
			if d2, err := ParseDuration(d.String()); err != nil || d2 != d {
				t.Fatalf("%q → %v does not round-trip: %v %v", s, d, d2, err)
			}
		}
	})
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"350k", "92%", "1_000", "2k/s", "5M", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseNumber(s)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("%q → %v", s, v)
		}
		ParseCount(s)
		ParseSize(s)
	})
}

func FuzzParseSegment(f *testing.F) {
	for _, s := range []string{"1/2", "3/3", "0/1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseSegment(s)
		if err == nil {
			if g.I < 1 || g.I > g.N {
				t.Fatalf("%q → %v", s, g)
			}
			if g2, err := ParseSegment(g.String()); err != nil || g2 != g {
				t.Fatalf("%v does not round-trip", g)
			}
		}
	})
}

func FuzzReadReplay(f *testing.F) {
	f.Add("t,rps\n0,100\n1,200\n")
	f.Add("0,1\n1m,2k\n")
	f.Fuzz(func(t *testing.T, s string) {
		pts, err := readReplay(strings.NewReader(s))
		if err != nil {
			return
		}
		c, err := NewReplayCurve(pts, 0)
		if err != nil {
			return
		}
		if c.Total() < 0 || math.IsNaN(c.Total()) {
			t.Fatalf("total %v", c.Total())
		}
	})
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("skus: [{sku: x, price: 1}]\ntraffic: {stages: [{duration: 1s, rps: 1}]}\njourneys: [{steps: [{view: {sku: x}}]}]\n")
	b.WriteString("gates: *a8\n")
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("accepted")
	}
	b.Reset()
	for i := range 300 {
		fmt.Fprintf(&b, "k%d: 1\n", i)
	}
	_, err = Parse("many.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "many.yaml: and 10") || strings.Count(err.Error(), "\n") != maxProblems {
		t.Fatalf("error %.300v", err)
	}
}
