package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture records a deterministic 20 s run: a ramp that overloads a service at t=12..16 s,
// with shedding, errors, stock running out, and an autoscaler adding replicas.
func fixture(mode string, slow float64) *result.Run {
	rng := rand.New(rand.NewPCG(11, 11))
	target := func(d time.Duration) float64 { return 50 + 10*d.Seconds() }
	rec := result.NewRecorder(result.RecorderOptions{Name: "double-eleven", Mode: mode, Seed: 11, Workers: 4,
		StartedAt: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC), Strategy: "redis-lua", Window: time.Second,
		TargetRate: target, ScenarioAt: func(d time.Duration) time.Duration { return d * 60 }})
	stock := int64(1500)
	i := 0
	for t := time.Duration(0); t < 20*time.Second; i++ {
		t += time.Duration(float64(time.Second) / target(t))
		svc := time.Duration(slow * float64(time.Millisecond) * (2 + 8*rng.ExpFloat64()))
		wait := time.Duration(0)
		if t > 12*time.Second && t < 16*time.Second {
			wait = time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
		}
		r := result.Result{Intended: t, Sent: t + wait, Done: t + wait + svc, Journey: "rusher", Step: "purchase", Status: 201, Code: "RESERVED"}
		if mode == "live" { // the target's own time: the service time less a round trip
			r.Server = max(0, svc-time.Duration(100+i%150)*time.Microsecond) // no rng draw: the stream stays as it was
		}
		switch {
		case i%3 == 0:
			r.Journey, r.Step, r.Code, r.Status = "browser", "view", "", 200
		case wait > 250*time.Millisecond:
			r.Status, r.Code = 503, "SHED"
		case rng.IntN(200) == 0:
			r.Status, r.Code, r.Err = 0, "", outcome.ErrTimeout
		case stock == 0:
			r.Status, r.Code = 410, "SOLD_OUT"
		default:
			stock--
		}
		sh := rec.Shard(i % 4)
		if wait > 280*time.Millisecond {
			sh.Drop(t)
			continue
		}
		sh.Record(&r)
		if r.Code == "RESERVED" {
			sh.Ratio("pay_success", rng.IntN(400) != 0)
		}
		if i%50 == 0 {
			rec.SetGauges(t, result.Gauges{Stock: 101500, StockLeft: stock + 100000 - int64(i/20), Replicas: 2 + int(t/(5*time.Second)),
				SKUs: []result.SKUStats{{SKU: "catalogue", Stock: 100000, Left: 100000 - int64(i/20), Sold: int64(i / 20)},
					{SKU: "phone-x", Flash: true, Stock: 1500, Left: stock, Sold: 1500 - stock}}})
		}
	}
	rec.Warn("generator saturated at 12.3s: 41 arrivals dropped")
	run := rec.Finish(20*time.Second + 400*time.Millisecond) // the last answers come in after the schedule ends
	s := run.Summary
	s.Target = "http://127.0.0.1:8080"
	s.Audit = result.Audit{Checked: true, Stock: 1500, Sold: 1500, Paid: 1497, Released: 3, Violations: []string{}}
	s.Gates, _, _ = result.EvaluateGates(s, []string{"p(99) < 500ms", "rate(pay_success) > 99.5%", "error_rate < 0.1%",
		"oversold == 0", "achieved_rate >= 95% of target", "p(99.9) <= 1s"})
	return run
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	run := fixture("live", 1)
	pred := fixture("sim", 0.8).Summary
	for _, tc := range []struct {
		name string
		fn   func(*bytes.Buffer) error
	}{
		{"summary.txt", func(b *bytes.Buffer) error { return Text(b, run.Summary, nil) }},
		{"summary-predicted.txt", func(b *bytes.Buffer) error { return Text(b, run.Summary, pred) }},
		{"summary.md", func(b *bytes.Buffer) error { return Markdown(b, run.Summary, nil) }},
		{"summary-predicted.md", func(b *bytes.Buffer) error { return Markdown(b, run.Summary, pred) }},
		{"summary-full.txt", func(b *bytes.Buffer) error { return TextFull(b, run.Summary, nil, pred) }},
		{"summary-full.md", func(b *bytes.Buffer) error { return MarkdownFull(b, run.Summary, nil, pred) }},
		{"junit.xml", func(b *bytes.Buffer) error { return JUnit(b, run.Summary) }},
		{"rehearsal.txt", func(b *bytes.Buffer) error {
			return RehearsalText(b, Rehearsal{Name: "double-eleven", Live: run.Summary, Played: pred, Full: pred, Report: "runs/x/report.html"})
		}},
		{"rehearsal-measured.txt", func(b *bytes.Buffer) error {
			return RehearsalText(b, Rehearsal{Name: "double-eleven", Live: run.Summary, Report: "runs/x/report.html"})
		}},
		{"shootout.txt", func(b *bytes.Buffer) error { return ShootoutText(b, shootout(run.Summary, pred)) }},
		{"shootout.md", func(b *bytes.Buffer) error { return ShootoutMarkdown(b, "double-eleven", shootout(run.Summary, pred)) }},
		{"plan.txt", func(b *bytes.Buffer) error {
			return PlanText(b, Plan{Name: "double-eleven", Trials: 9, Elapsed: 1234 * time.Millisecond, Replicas: 3,
				ModelReplicas: 4, Shards: 8, ModelShards: 32, Passing: pred, Failing: run.Summary})
		}},
		{"curve.txt", func(b *bytes.Buffer) error {
			return Curve(b, 40, 6, 24*time.Hour, 350e3, func(t time.Duration) float64 {
				if t > 3*time.Hour && t < 3*time.Hour+20*time.Minute { // a spike narrower than a column
					return 350e3
				}
				return 20e3 + 60e3*t.Hours()/24
			})
		}},
	} {
		var b bytes.Buffer
		if err := tc.fn(&b); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		golden(t, tc.name, b.Bytes())
	}
}

func TestJUnitFailuresCarryTheMeasuredValue(t *testing.T) {
	run := fixture("live", 1)
	var b bytes.Buffer
	if err := JUnit(&b, run.Summary); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, g := range run.Summary.Gates {
		if !g.Pass {
			failed++
			if !strings.Contains(b.String(), "measured "+result.FormatGateValue(g)) {
				t.Errorf("no measured value for failed gate %s", g.Expr)
			}
		}
	}
	if failed == 0 || !strings.Contains(b.String(), `failures="`) {
		t.Fatalf("the fixture should fail a gate:\n%s", b.String())
	}
}

func TestJSONRoundTrip(t *testing.T) {
	run := fixture("live", 1)
	var b bytes.Buffer
	if err := JSON(&b, run.Summary); err != nil {
		t.Fatal(err)
	}
	got, err := result.ParseSummary(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var b2 bytes.Buffer
	if err := JSON(&b2, got); err != nil {
		t.Fatal(err)
	}
	if b.String() != b2.String() {
		t.Errorf("JSON changed in a round trip")
	}
	var raw map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "name", "mode", "seed", "started_at", "duration_s", "scenario_time_s", "requests",
		"rate", "latency_ms", "service_time_ms", "audit", "replicas", "gates", "timeline"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
}

func TestCSV(t *testing.T) {
	run := fixture("live", 1)
	var b bytes.Buffer
	if err := CSV(&b, run.Summary); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(run.Summary.Timeline)+1 || !strings.HasPrefix(lines[0], "t,wall,target_rps,achieved_rps") {
		t.Fatalf("csv:\n%s", b.String())
	}
	if !strings.HasPrefix(lines[2], "60,1,") {
		t.Errorf("second window: %s", lines[2])
	}
}

func TestFormatUnknown(t *testing.T) {
	if err := Format(&bytes.Buffer{}, "pdf", fixture("live", 1), nil); err == nil {
		t.Fatal("pdf should be refused")
	}
}

func TestCompareText(t *testing.T) {
	a, b := fixture("live", 1), fixture("live", 2)
	b.Summary.Strategy = "naive"
	c, err := result.Compare([]*result.Run{a, b}, result.CompareOptions{MaxRegression: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := CompareText(&out, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "naive") || !strings.Contains(out.String(), " !") {
		t.Errorf("comparison:\n%s", out.String())
	}
	golden(t, "compare.txt", out.Bytes())
	if math.IsNaN(c.Rows[0].Values[0]) {
		t.Error("p50 missing")
	}
}

func shootout(a, b *result.Summary) []ShootoutRow {
	na := *b
	na.Strategy = "naive"
	na.Gates = append([]result.GateResult{{Expr: "oversold == 0", Value: 12}}, b.Gates...)
	return []ShootoutRow{{Live: a, Report: "redis-lua/report.html"}, {Live: &na, Report: "naive/report.html"}}
}

// TestGatesOneLine: every text output's gate line is PASS or FAIL, the expression padded to the
// longest, and the measured value, or the reason it could not be measured (never a bare 0).
func TestGatesOneLine(t *testing.T) {
	var b bytes.Buffer
	gates := []result.GateResult{
		{Expr: "p(99) < 500ms", Value: 420, Pass: true},
		{Expr: "oversold == 0", Value: 0, Pass: false, Error: "not checked: the audit did not run"},
	}
	if err := Gates(&b, "  ", gates); err != nil {
		t.Fatal(err)
	}
	want := "  PASS  p(99) < 500ms  420ms\n  FAIL  oversold == 0  not checked: the audit did not run\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	if got := FailedGates(gates); len(got) != 1 || got[0] != "oversold == 0 (not checked: the audit did not run)" {
		t.Errorf("FailedGates: %q", got)
	}
}

// TestGateNotChecked: every text output of a gate on an unchecked audit says "not checked: REASON",
// never FAIL (0).
func TestGateNotChecked(t *testing.T) {
	s := &result.Summary{Name: "x", Audit: result.Audit{Error: "target restarted"}}
	s.Gates, _, _ = result.EvaluateGates(s, []string{"oversold == 0"})
	var b strings.Builder
	if err := Gates(&b, "", s.Gates); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.Contains(got, "FAIL  oversold == 0  not checked: target restarted") {
		t.Errorf("gate line %q", got)
	}
	if got := strings.Join(FailedGates(s.Gates), ""); got != "oversold == 0 (not checked: target restarted)" {
		t.Errorf("failed gates %q", got)
	}
	b.Reset()
	if err := Audit(&b, &s.Audit); err != nil || b.String() != "audit: not checked: target restarted\n" {
		t.Errorf("audit line %q %v", b.String(), err)
	}
	b.Reset()
	if err := JUnit(&b, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "measured 0") || !strings.Contains(b.String(), "not checked: target restarted") {
		t.Errorf("junit %s", b.String())
	}
}

// TestFigures: rates and counts in the text report keep three significant digits in their unit.
func TestFigures(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Rate(350000), "350k"}, {Rate(3500), "3.5k"}, {Rate(1.2e6), "1.2M"}, {Rate(20), "20"}, {Rate(12.345), "12.3"},
		{Count(3.08e9), "3.08 billion"}, {Count(50.4e6), "50.4 million"}, {Count(50363), "50363"},
		{ShortDuration(24 * time.Hour), "24h"}, {ShortDuration(90 * time.Minute), "1h30m"}, {ShortDuration(1500 * time.Millisecond), "1.5s"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

// faultFixture is the live fixture (20 s of wall, 60 scenario seconds each: the time axis in
// minutes) with an instant fault at 5 min and a lasting one from 10 to 15 min.
func faultFixture() *result.Run {
	run := fixture("live", 1)
	run.Summary.Faults = []result.Fault{
		{AtS: 300, Kind: "redis:failover", AppliedAtS: 300, OK: true},
		{AtS: 600, Kind: "network:store", Detail: "latency 200ms, for 5m", AppliedAtS: 600, OK: true, EndS: 900, EndedAtS: 900},
	}
	return run
}

// TestShootoutHTMLGolden: the shoot-out page with its fault matrix (a strategy skipped as n/a).
func TestShootoutHTMLGolden(t *testing.T) {
	a, b := fixture("live", 1).Summary, fixture("live", 2).Summary
	a.Faults = faultFixture().Summary.Faults
	rows := shootout(a, b)
	matrix := []FaultRow{{Strategy: "redis-lua", Live: rows[0].Live}, {Strategy: "naive", Live: rows[1].Live}, {Strategy: "pg-row", NA: "no redis"}}
	var out bytes.Buffer
	if err := ShootoutHTML(&out, Shootout{Name: "redis-failover", Rows: rows, Faults: a.Faults, Matrix: matrix}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, want := range []string{`<table id="fault-matrix">`, "<th>pg-row</th><td class=\"num\">n/a (no redis)</td>",
		"fault: redis:failover at 300.0s, applied 300.0s: ok", `<a href="naive/report.html">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the shoot-out page lacks %q", want)
		}
	}
	golden(t, "shootout-faults.html", out.Bytes())
}
