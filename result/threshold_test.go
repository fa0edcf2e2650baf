package result

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flashload/flashload/gate"
)

func gateSummary() *Summary {
	return &Summary{
		Requests: Requests{Total: 1000, OK: 980, Failed: 20, Errors: 5, Shed: 15, Dropped: 10, Retries: 7,
			ByStatus: map[string]int64{"201": 100, "503": 15}, ByCode: map[string]int64{"SOLD_OUT": 800},
			ByError: map[string]int64{"timeout": 3}},
		Rate:          Rate{TargetAvg: 100, AchievedAvg: 96, PeakTarget: 200, PeakAchieved: 190},
		LatencyMs:     Percentiles{Mean: 40, P50: 30, P90: 80, P99: 420, P999: 900, Max: 1500, Quantiles: map[string]float64{"95": 120}},
		ServiceTimeMs: Percentiles{Mean: 10, P50: 8, P90: 20, P99: 60, P999: 90, Max: 100},
		Rates:         map[string]Ratio{"pay_success": {Num: 996, Den: 1000, Value: 0.996}},
		Audit:         Audit{Checked: true, Stock: 100, Sold: 100, Oversold: 0, Lost: 0, Duplicates: 2},
		Replicas:      Replicas{Min: 20, Max: 64},
		Steps: map[string]NamedStats{"purchase": {Count: 400, OK: 390, Failed: 10,
			LatencyMs: Percentiles{Mean: 60, P50: 50, P90: 150, P99: 280, P999: 400, Max: 500}}},
		Journeys: map[string]NamedStats{"rusher": {Count: 700, OK: 700, LatencyMs: Percentiles{Mean: 45, P99: 310}}},
	}
}

func TestThresholdEval(t *testing.T) {
	s := gateSummary()
	tests := []struct {
		expr  string
		value float64
		pass  bool
	}{
		{"p(99) < 500ms", 420, true},
		{"p(99) < 0.4s", 420, false},
		{"p(99.9) <= 1s", 900, true},
		{"p(95) < 100", 120, false},
		{"p(100) == 1500", 1500, true},
		{"med < 31ms", 30, true},
		{"avg<=40", 40, true},
		{"max < 1s", 1500, false},
		{"service_time.p(99) < 100ms", 60, true},
		{"service.max <= 100ms", 100, true},
		{"latency.avg > 1ms", 40, true},
		{"rate(pay_success) > 99.5%", 0.996, true},
		{"rate(pay_success) > 0.997", 0.996, false},
		{"error_rate < 1%", 0.005, true},
		{"shed_rate < 1%", 0.015, false},
		{"drop_rate <= 1%", 10.0 / 1010, true},
		{"availability >= 99.95%", 980.0 / 1010, false},
		{"oversold == 0", 0, true},
		{"lost == 0", 0, true},
		{"duplicates == 0", 2, false},
		{"dropped == 0", 10, false},
		{"achieved_rate >= 95% of target", 0.96, true},
		{"achieved_rate >= 97% of target", 0.96, false},
		{"achieved_rate > 90", 96, true},
		{"peak_target >= 200", 200, true},
		{"code(SOLD_OUT) > 0", 800, true},
		{"status(503) == 15", 15, true},
		{"error(timeout) < 3", 3, false},
		{"replicas.max <= 64", 64, true},
		{"max_replicas < 64", 64, false},
		{"retries != 7", 7, false},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.expr)
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		g := th.Eval(s)
		if g.Error != "" || g.Pass != tt.pass || fmt.Sprintf("%.9g", g.Value) != fmt.Sprintf("%.9g", tt.value) {
			t.Errorf("%s: got value %v pass %v (%s), want %v %v", tt.expr, g.Value, g.Pass, g.Error, tt.value, tt.pass)
		}
		if g.Expr != tt.expr {
			t.Errorf("%s: Expr %q", tt.expr, g.Expr)
		}
	}
}

func TestThresholdUnmeasurable(t *testing.T) {
	s := gateSummary()
	s.Audit.Checked = false
	for _, expr := range []string{"oversold == 0", "rate(nothing) > 1%", "p(12.5) < 1s"} {
		th, err := ParseThreshold(expr)
		if err != nil {
			t.Fatal(err)
		}
		if g := th.Eval(s); g.Pass || g.Error == "" {
			t.Errorf("%s: want a failure with a reason, got %+v", expr, g)
		}
	}
}

func TestThresholdParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"p(99 < 1s", `gate "p(99 < 1s": col 5: expected ")"`},
		{"", `gate "": col 1: expected a metric`},
		{"p99 < 1s", `col 1: unknown metric "p99"`},
		{"p(99) 1s", `col 6: expected a comparison`},
		{"p(99) <", `col 8: expected a number`},
		{"p(99) < 1parsec", `col 10: unknown unit "parsec"`},
		{"p(99) < 5%", `col 10: % only applies to ratios`},
		{"p(101) < 1s", `col 3: p(N) takes a percentile between 0 and 100`},
		{"oversold == 0ms", `col 14: a duration only applies to latency`},
		{"error_rate < 5", `col 14: a ratio is between 0 and 1`},
		{"achieved_rate >= 95%", `a percentage of achieved_rate needs "of target"`},
		{"error_rate < 1% of target", `col 17: "of target" only follows achieved_rate`},
		{"achieved_rate >= 95% of budget", `col 25: expected "target"`},
		{"p(99) < 1s and", `col 12: unexpected "and"`},
		{"rate() > 1%", `col 6: expected an argument`},
		{"status(abc) > 1", `col 8: status(N) takes an HTTP status`},
		{"replicas.mean > 1", `col 10: expected min or max`},
		{"service.p(99) < 1s extra", `unexpected "extra"`},
		{"latency p(99) < 1s", `col 8: expected "."`},
	}
	for _, tt := range tests {
		_, err := ParseThreshold(tt.expr)
		var te *gate.ThresholdError
		if !errors.As(err, &te) {
			t.Errorf("%q: want a *gate.ThresholdError, got %v", tt.expr, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %q, want it to contain %q", tt.expr, err, tt.want)
		}
	}
}

func TestEvaluateGates(t *testing.T) {
	s := gateSummary()
	gates, all, err := EvaluateGates(s, []string{"p(99) < 500ms", "oversold == 0"})
	s.Gates = gates
	if !all || err != nil || len(s.Gates) != 2 {
		t.Fatalf("got %v %v %+v", all, err, s.Gates)
	}
	s.Gates, all, err = EvaluateGates(s, []string{"p(99) < 400ms", "bogus > 1"})
	if all || err == nil || len(s.Gates) != 2 || s.Gates[0].Pass || s.Gates[1].Error == "" {
		t.Fatalf("got %v %v %+v", all, err, s.Gates)
	}
	if got := FormatGateValue(s.Gates[0]); got != "420ms" {
		t.Errorf("FormatGateValue = %q", got)
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p(99) < 500ms", "p(99.9) <= 1s", "rate(pay_success) > 99.5%", "error_rate < 1%",
		"oversold == 0", "achieved_rate >= 95% of target", "availability >= 99.95%", "service_time.p(50) < 10ms",
		"p(99 < 1s", "code(SOLD_OUT) > 0", "replicas.max <= 300", "", "p(", "µs", "p(1e400) < 1",
		"p(99){step:purchase} < 300ms", "avg{journey:rusher} < 1s", "error_rate{step:pay} < 0.5%", "p(99){step:", "max{ journey : a-b.c } > 0", "replica_spread >= 80%", "replica_spread > 1.5"} {
		f.Add(s)
	}
	sum := gateSummary()
	f.Fuzz(func(t *testing.T, expr string) {
		th, err := ParseThreshold(expr)
		if err != nil {
			var te *gate.ThresholdError
			if !errors.As(err, &te) || te.Col < 1 || te.Col > len(expr)+1 {
				t.Fatalf("%q: bad error %v", expr, err)
			}
			return
		}
		g := th.Eval(sum)
		if g.Expr != expr {
			t.Fatalf("Expr %q != %q", g.Expr, expr)
		}
		_ = th.FormatValue(g.Value)
	})
}

func ExampleParseThreshold() {
	s := &Summary{LatencyMs: Percentiles{P99: 412.5}, Rates: map[string]Ratio{"pay_success": {Num: 997, Den: 1000, Value: 0.997}}}
	for _, expr := range []string{"p(99) < 500ms", "rate(pay_success) > 99.5%", "p(99 < 1s"} {
		t, err := ParseThreshold(expr)
		if err != nil {
			fmt.Println(err)
			continue
		}
		g := t.Eval(s)
		fmt.Println(g.Expr, g.Pass, t.FormatValue(g.Value))
	}
	// Output:
	// p(99) < 500ms true 412ms
	// rate(pay_success) > 99.5% true 99.70%
	// gate "p(99 < 1s": col 5: expected ")"
}

// TestAvailabilityIsTheGates: the one definition of availability (ok over requests and dropped
// arrivals) is what the gate reads, and an empty run has none rather than NaN.
func TestAvailabilityIsTheGates(t *testing.T) {
	s := gateSummary()
	th, err := ParseThreshold("availability >= 0")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Availability(s), 980.0/1010; got != want || th.Eval(s).Value != want {
		t.Errorf("Availability %v, gate %v; want %v", got, th.Eval(s).Value, want)
	}
	if got := Availability(&Summary{}); got != 0 {
		t.Errorf("empty run: %v, want 0", got)
	}
}

// TestTaggedGates: k6's tag syntax narrows latency and counts to one step or journey, reads
// that name's own statistics, fails on a name the run lacks, and is refused where it means nothing.
func TestTaggedGates(t *testing.T) {
	s := gateSummary()
	for _, c := range []struct {
		expr  string
		value float64
		pass  bool
	}{
		{"p(99){step:purchase} < 300ms", 280, true},
		{"p(99) {step:purchase} < 250", 280, false},
		{"med{step:purchase} <= 50ms", 50, true},
		{"latency.max{step:purchase} < 1s", 500, true},
		{"avg{journey:rusher} < 40ms", 45, false},
		{"error_rate{step:purchase} < 1%", 0.025, false},
		{"requests{step:purchase} == 400", 400, true},
		{"failed{step:purchase} == 10", 10, true},
	} {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		g := th.Eval(s)
		if g.Error != "" || g.Value != c.value || g.Pass != c.pass {
			t.Errorf("%s: %+v, want value %v pass %v", c.expr, g, c.value, c.pass)
		}
	}
	for _, expr := range []string{"p(99){step:checkout} < 1s", "p(95){step:purchase} < 1s"} {
		th, err := ParseThreshold(expr)
		if err != nil {
			t.Fatal(err)
		}
		if g := th.Eval(s); g.Pass || g.Error == "" {
			t.Errorf("%s: %+v, want a failure that says why", expr, g)
		}
	}
	for expr, col := range map[string]int{
		"p(99){stage:x} < 1s":             7,
		"p(99){step:} < 1s":               12,
		"p(99){step:purchase < 1s":        20,
		"oversold{step:purchase} == 0":    9,
		"service.p(99){step:pay} < 1s":    14,
		"rate(pay_success){step:pay} > 1": 18,
	} {
		_, err := ParseThreshold(expr)
		var te *gate.ThresholdError
		if !errors.As(err, &te) || te.Col != col {
			t.Errorf("%s: %v, want an error at col %d", expr, err, col)
		}
	}
}
