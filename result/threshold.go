package result

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/flashload/flashload/gate"
)

// Threshold is a parsed gate that reads a Summary.
type Threshold struct{ *gate.Threshold }

// ParseThreshold parses one gate expression (the grammar is gate.Parse's).
func ParseThreshold(expr string) (*Threshold, error) {
	g, err := gate.Parse(expr)
	if err != nil {
		return nil, err
	}
	return &Threshold{g}, nil
}

// Measure reads the gate's metric from s. It fails (saying why) when the run cannot
// tell: no such named rate, no audit, a quantile the summary does not hold.
func (t *Threshold) Measure(s *Summary) (v float64, err error) {
	r := &s.Requests
	errs, shed := ErrorsAndShed(s)
	attempts := float64(r.Total + r.Dropped)
	frac := func(n, d float64) float64 {
		if d == 0 {
			return 0
		}
		return n / d
	}
	audit := func(n int64) (float64, error) {
		if !s.Audit.Checked {
			return 0, errors.New(AuditNotChecked(&s.Audit))
		}
		return float64(n), nil
	}
	if t.TagKey != "" {
		return t.measureTagged(s)
	}
	switch t.Metric {
	case "p", "avg", "max":
		pc := s.LatencyMs
		if t.Source == "service_time" {
			pc = s.ServiceTimeMs
		}
		switch t.Metric {
		case "avg":
			return pc.Mean, nil
		case "max":
			return pc.Max, nil
		}
		if v, ok := pc.Quantile(t.Quantile); ok {
			return v, nil
		}
		return 0, fmt.Errorf("the summary holds no p(%s)", t.Arg)
	case "rate":
		ratio, ok := s.Rates[t.Arg]
		if !ok {
			return 0, fmt.Errorf("the run has no rate %q", t.Arg)
		}
		return ratio.Value, nil
	case "error_rate":
		return frac(float64(errs), float64(r.Total)), nil
	case "shed_rate":
		return frac(float64(shed), float64(r.Total)), nil
	case "drop_rate":
		return frac(float64(r.Dropped), attempts), nil
	case "availability":
		return Availability(s), nil
	case "replica_spread":
		return ReplicaSpread(s)
	case "achieved_rate":
		if t.OfTarget {
			if s.Rate.TargetAvg == 0 {
				return 0, errors.New("the run has no target rate")
			}
			return s.Rate.AchievedAvg / s.Rate.TargetAvg, nil
		}
		return s.Rate.AchievedAvg, nil
	case "target_rate":
		return s.Rate.TargetAvg, nil
	case "peak_achieved":
		return s.Rate.PeakAchieved, nil
	case "peak_target":
		return s.Rate.PeakTarget, nil
	case "oversold":
		return audit(s.Audit.Oversold)
	case "lost":
		return audit(s.Audit.Lost)
	case "duplicates":
		return audit(s.Audit.Duplicates)
	case "unexpected":
		return audit(s.Audit.Unexpected)
	case "undersold":
		return audit(s.Audit.Undersold)
	case "unknown":
		return audit(s.Audit.Unknown)
	case "violations":
		return audit(int64(len(s.Audit.Violations)))
	case "requests":
		return float64(r.Total), nil
	case "ok":
		return float64(r.OK), nil
	case "failed":
		return float64(r.Failed), nil
	case "errors":
		return float64(errs), nil
	case "shed":
		return float64(shed), nil
	case "dropped":
		return float64(r.Dropped), nil
	case "retries":
		return float64(r.Retries), nil
	case "code":
		return float64(r.ByCode[t.Arg]), nil
	case "status":
		return float64(r.ByStatus[t.Arg]), nil
	case "error":
		return float64(r.ByError[t.Arg]), nil
	case "replicas.min":
		return float64(s.Replicas.Min), nil
	case "replicas.max":
		return float64(s.Replicas.Max), nil
	}
	return 0, fmt.Errorf("unknown metric %q", t.Metric)
}

// measureTagged reads a gate with a tag filter from the step's or journey's statistics.
func (t *Threshold) measureTagged(s *Summary) (float64, error) {
	m := s.Steps
	if t.TagKey == "journey" {
		m = s.Journeys
	}
	st, ok := m[t.TagValue]
	if !ok {
		return 0, fmt.Errorf("the run has no %s %q", t.TagKey, t.TagValue)
	}
	switch t.Metric {
	case "avg":
		return st.LatencyMs.Mean, nil
	case "max":
		return st.LatencyMs.Max, nil
	case "p":
		if v, ok := st.LatencyMs.Quantile(t.Quantile); ok {
			return v, nil
		}
		return 0, fmt.Errorf("a %s holds p50, p90, p99, p99.9 and max, not p(%s)", t.TagKey, t.Arg)
	case "requests":
		return float64(st.Count), nil
	case "ok":
		return float64(st.OK), nil
	case "failed":
		return float64(st.Failed), nil
	case "error_rate":
		if st.Count == 0 {
			return 0, nil
		}
		return float64(st.Failed) / float64(st.Count), nil
	}
	return 0, fmt.Errorf("%s has no %s filter", t.Metric, t.TagKey)
}

// AuditNotChecked is what a gate on an audit column says when the audit did not run:
// "not checked: REASON".
func AuditNotChecked(a *Audit) string {
	reason := a.Error
	if reason == "" {
		reason = "the audit did not run"
	}
	return "not checked: " + reason
}

// Eval measures the gate on s and compares. A gate the run cannot measure fails, with the reason
// in GateResult.Error: an unverifiable invariant must not pass silently.
func (t *Threshold) Eval(s *Summary) GateResult {
	v, err := t.Measure(s)
	g := GateResult{Expr: t.Expr, Value: v}
	if err != nil {
		g.Error = err.Error()
		return g
	}
	b := t.Bound
	const eps = 1e-9
	switch t.Op {
	case gate.OpLT:
		g.Pass = v < b
	case gate.OpLE:
		g.Pass = v <= b+eps*math.Abs(b)
	case gate.OpGT:
		g.Pass = v > b
	case gate.OpGE:
		g.Pass = v >= b-eps*math.Abs(b)
	case gate.OpEQ:
		g.Pass = math.Abs(v-b) <= eps*math.Max(1, math.Abs(b))
	case gate.OpNE:
		g.Pass = math.Abs(v-b) > eps*math.Max(1, math.Abs(b))
	}
	return g
}

// FormatValue prints a measured value in the gate's unit: "412.3ms", "99.62%", "0", "1834.2/s".
func (t *Threshold) FormatValue(v float64) string {
	switch t.Kind {
	case gate.KindLatency:
		return FormatMs(v)
	case gate.KindRatio:
		return strconv.FormatFloat(v*100, 'f', pctDigits(v*100), 64) + "%"
	case gate.KindRate:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func pctDigits(p float64) int {
	if p != 0 && p != 100 && (p > 99.9 || p < 0.1) { // 99.95% and 0.05% need the third digit
		return 3
	}
	return 2
}

// FormatMs prints milliseconds with a precision that suits their size.
func FormatMs(ms float64) string {
	switch {
	case ms >= 10000:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	case ms >= 1:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(ms, 'f', 3, 64) + "ms"
}

// FormatGateValue prints a GateResult's value in its gate's unit (plain when the expression
// does not parse).
func FormatGateValue(g GateResult) string {
	t, err := ParseThreshold(g.Expr)
	if err != nil {
		return strconv.FormatFloat(g.Value, 'g', -1, 64)
	}
	return t.FormatValue(g.Value)
}

// EvaluateGates evaluates every expression on s and returns their results in order, and
// whether all pass. It does not change s: Run.Complete stores them in the finished summary.
// An expression that does not parse is a failed result with its error, and joined in err.
func EvaluateGates(s *Summary, exprs []string) (gates []GateResult, allPass bool, err error) {
	gates = make([]GateResult, 0, len(exprs))
	allPass = true
	var errs []error
	for _, e := range exprs {
		t, perr := ParseThreshold(e)
		if perr != nil {
			errs = append(errs, perr)
			gates = append(gates, GateResult{Expr: e, Error: perr.Error()})
			allPass = false
			continue
		}
		g := t.Eval(s)
		allPass = allPass && g.Pass
		gates = append(gates, g)
	}
	return gates, allPass, errors.Join(errs...)
}

// GateExprs lists the expressions of gates (to re-evaluate them on another summary).
func GateExprs(gates []GateResult) []string {
	out := make([]string, len(gates))
	for i, g := range gates {
		out[i] = g.Expr
	}
	return out
}

// Availability is the share of arrivals answered ok: ok / (requests + dropped), 0 when there
// were none. The gate `availability`, the rehearsal's and the plan's figures all read it here.
func Availability(s *Summary) float64 {
	attempts := s.Requests.Total + s.Requests.Dropped
	if attempts == 0 {
		return 0
	}
	return float64(s.Requests.OK) / float64(attempts)
}

// ErrorsAndShed returns the error and shed counts of a summary.
func ErrorsAndShed(s *Summary) (errs, shed int64) { return s.Requests.Errors, s.Requests.Shed }
