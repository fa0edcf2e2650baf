// Package gate is the grammar of gates (thresholds): what a scenario's `gates:` and the CLI's
// --threshold accept. It parses only; the result model evaluates a parsed gate against a summary.
package gate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse parses one gate expression. The grammar, in the spirit of k6's thresholds:
//
//	gate    = metric op value [ "of" "target" ]
//	op      = "<" | "<=" | ">" | ">=" | "==" | "!="
//	value   = number [ unit ]          unit: ns us µs ms s m h (durations), % (ratios)
//
// Metrics, by kind (the kind decides which units a value may carry):
//
//	latency (ms; a bare number is milliseconds, like k6):
//	  p(N)  avg  mean  med  max          latency from the intended send time
//	  service_time.p(N) ... .max         the same from the actual send time (alias service.)
//	  latency.p(N) ... .max              explicit form of the first line
//	  p(N) reads p50, p90, p99, p99.9 and max (p(100)); other N read the summary's
//	  quantile spectrum (25, 75, 95, 99.5, 99.95, 99.99, 99.999).
//	ratio (0..1; write 99.5% or 0.995):
//	  rate(NAME)        Summary.Rates[NAME], for example rate(pay_success)
//	  error_rate        errors / requests (no answer, 5xx other than shedding, 4xx without a code)
//	  shed_rate         shed / requests (code SHED or RATE_LIMITED, or status 503/429)
//	  drop_rate         dropped / (requests + dropped)
//	  availability      ok / (requests + dropped)
//	  achieved_rate >= 95% of target    achieved_avg / target_avg
//	  replica_spread    the least-loaded ready replica's share of the mean share: each
//	                    replica's answers over its fair share (every window's answers split
//	                    evenly over the replicas ready in it), the smallest over the mean;
//	                    1 is an even spread, 0 a replica that stayed idle while ready
//	count:
//	  oversold lost duplicates unexpected undersold unknown violations   (the audit; fails with
//	  "not checked: REASON" unless it ran)
//	  requests ok failed errors shed dropped retries
//	  code(SOLD_OUT)  status(503)  error(timeout)                answers by code, status, error class
//	  replicas.min replicas.max (aliases min_replicas, max_replicas)
//	rate (requests per second of the run clock):
//	  achieved_rate target_rate peak_achieved peak_target
//
// A tag filter in k6's syntax narrows a metric to one step or journey (Summary.Steps,
// Summary.Journeys): p(99){step:purchase} < 300ms, avg{journey:rusher} < 1s,
// error_rate{step:pay} < 0.5%, requests{step:view} > 0. It follows latency metrics (from the
// intended send), requests, ok, failed and error_rate (failed / requests of that name).
//
// Errors name the column (1-based, in bytes) where the parser stopped:
//
//	gate "p(99 < 1s": col 5: expected ")"
func Parse(expr string) (*Threshold, error) {
	p := &gateParser{src: expr}
	t, err := p.parse()
	if err != nil {
		return nil, err
	}
	t.Expr = expr
	return t, nil
}

// Kind says what a gate measures, and so which units its value may carry and how it prints.
type Kind int

const (
	KindLatency Kind = iota // milliseconds
	KindRatio               // 0..1
	KindCount               // a number of things
	KindRate                // per second
)

// Op is a comparison.
type Op string

const (
	OpLT Op = "<"
	OpLE Op = "<="
	OpGT Op = ">"
	OpGE Op = ">="
	OpEQ Op = "=="
	OpNE Op = "!="
)

// Threshold is a parsed gate; it holds no run data.
type Threshold struct {
	Expr     string
	Metric   string  // canonical metric name: "p", "avg", "max", "rate", "error_rate", "oversold", ...
	Source   string  // latency metrics: "latency" or "service_time"
	Arg      string  // p(N): N; rate(NAME), code(C), status(S), error(E): the argument
	Quantile float64 // p(N): N
	Op       Op
	Bound    float64 // in the metric's unit: ms, ratio 0..1, count, or per second
	OfTarget bool    // achieved_rate >= 95% of target
	Kind     Kind
	// TagKey and TagValue are a tag filter, {step:purchase} or {journey:rusher}; "" without one.
	TagKey, TagValue string
}

// ThresholdError is a parse error at a column of the expression.
type ThresholdError struct {
	Expr string
	Col  int // 1-based byte column
	Msg  string
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("gate %q: col %d: %s", e.Expr, e.Col, e.Msg)
}

type gateParser struct {
	src string
	pos int
}

func (p *gateParser) fail(col int, format string, args ...any) error {
	return &ThresholdError{Expr: p.src, Col: col + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *gateParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// ident reads [A-Za-z_][A-Za-z0-9_]* at the current position (after spaces).
func (p *gateParser) ident() (string, int) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) && isIdentByte(p.src[p.pos], p.pos == start) {
		p.pos++
	}
	return p.src[start:p.pos], start
}

// expect consumes c after optional spaces, or fails at the position right after the previous token.
func (p *gateParser) expect(c byte) error {
	at := p.pos
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != c {
		p.pos = at
		return p.fail(at, "expected %q", string(c))
	}
	p.pos++
	return nil
}

// argument reads the text between parentheses: a name, a status or a quantile.
func (p *gateParser) argument() (string, int, error) {
	if err := p.expect('('); err != nil {
		return "", 0, err
	}
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if isIdentByte(c, false) || c == '.' || c == '-' {
			p.pos++
			continue
		}
		break
	}
	arg := p.src[start:p.pos]
	if arg == "" {
		return "", start, p.fail(start, "expected an argument")
	}
	if err := p.expect(')'); err != nil {
		return "", start, err
	}
	return arg, start, nil
}

var latencyAggs = map[string]string{"avg": "avg", "mean": "avg", "med": "p", "max": "max", "p": "p"}

var countMetrics = map[string]string{
	"oversold": "oversold", "lost": "lost", "duplicates": "duplicates", "unexpected": "unexpected",
	"undersold": "undersold", "violations": "violations", "unknown": "unknown",
	"requests": "requests", "total": "requests", "ok": "ok", "failed": "failed", "errors": "errors",
	"shed": "shed", "dropped": "dropped", "retries": "retries",
	"min_replicas": "replicas.min", "max_replicas": "replicas.max",
}

var ratioMetrics = map[string]bool{"error_rate": true, "shed_rate": true, "drop_rate": true, "availability": true, "replica_spread": true}

var rateMetrics = map[string]bool{"achieved_rate": true, "target_rate": true, "peak_achieved": true, "peak_target": true}

func (p *gateParser) parse() (*Threshold, error) {
	t := &Threshold{}
	name, start := p.ident()
	if name == "" {
		return nil, p.fail(start, "expected a metric")
	}
	switch {
	case name == "latency" || name == "service_time" || name == "service":
		t.Source = "latency"
		if name != "latency" {
			t.Source = "service_time"
		}
		if err := p.expect('.'); err != nil {
			return nil, err
		}
		agg, at := p.ident()
		if err := p.latency(t, agg, at); err != nil {
			return nil, err
		}
	case name == "replicas":
		if err := p.expect('.'); err != nil {
			return nil, err
		}
		sub, at := p.ident()
		if sub != "min" && sub != "max" {
			return nil, p.fail(at, "expected min or max after replicas.")
		}
		t.Metric, t.Kind = "replicas."+sub, KindCount
	case latencyAggs[name] != "":
		t.Source = "latency"
		if err := p.latency(t, name, start); err != nil {
			return nil, err
		}
	case name == "rate":
		arg, at, err := p.argument()
		if err != nil {
			return nil, err
		}
		if !isIdentByte(arg[0], true) || strings.ContainsAny(arg, ".-") {
			return nil, p.fail(at, "rate(NAME) takes a name like pay_success")
		}
		t.Metric, t.Arg, t.Kind = "rate", arg, KindRatio
	case name == "code" || name == "status" || name == "error":
		arg, at, err := p.argument()
		if err != nil {
			return nil, err
		}
		if name == "status" {
			if n, err := strconv.Atoi(arg); err != nil || n < 0 || n > 999 {
				return nil, p.fail(at, "status(N) takes an HTTP status")
			}
		}
		t.Metric, t.Arg, t.Kind = name, arg, KindCount
	case countMetrics[name] != "":
		t.Metric, t.Kind = countMetrics[name], KindCount
	case ratioMetrics[name]:
		t.Metric, t.Kind = name, KindRatio
	case rateMetrics[name]:
		t.Metric, t.Kind = name, KindRate
	default:
		return nil, p.fail(start, "unknown metric %q", name)
	}

	if err := p.tag(t); err != nil {
		return nil, err
	}
	if err := p.op(t); err != nil {
		return nil, err
	}
	if err := p.value(t); err != nil {
		return nil, err
	}
	at := p.pos
	if word, wat := p.ident(); word == "of" {
		if t.Metric != "achieved_rate" {
			return nil, p.fail(wat, `"of target" only follows achieved_rate`)
		}
		tw, tat := p.ident()
		if tw != "target" {
			return nil, p.fail(tat, `expected "target"`)
		}
		t.OfTarget = true
	} else if word != "" {
		return nil, p.fail(wat, "unexpected %q", word)
	} else {
		p.pos = at
	}
	if t.Metric == "achieved_rate" && t.Kind == KindRatio && !t.OfTarget {
		return nil, p.fail(p.pos, `a percentage of achieved_rate needs "of target"`)
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.fail(p.pos, "unexpected %q", p.src[p.pos:])
	}
	return t, nil
}

// tag reads an optional {step:NAME} or {journey:NAME} after the metric.
func (p *gateParser) tag(t *Threshold) error {
	at := p.pos
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '{' {
		p.pos = at
		return nil
	}
	open := p.pos
	p.pos++
	key, kat := p.ident()
	if key != "step" && key != "journey" {
		return p.fail(kat, "expected step or journey in a tag filter, got %q", key)
	}
	if err := p.expect(':'); err != nil {
		return err
	}
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) && (isIdentByte(p.src[p.pos], false) || p.src[p.pos] == '.' || p.src[p.pos] == '-') {
		p.pos++
	}
	if p.pos == start {
		return p.fail(start, "expected a %s name", key)
	}
	t.TagKey, t.TagValue = key, p.src[start:p.pos]
	if err := p.expect('}'); err != nil {
		return err
	}
	switch {
	case t.Kind == KindLatency && t.Source == "latency":
	case t.Metric == "requests" || t.Metric == "ok" || t.Metric == "failed" || t.Metric == "error_rate":
	default:
		return p.fail(open, "a tag filter follows latency metrics, requests, ok, failed or error_rate")
	}
	return nil
}

func (p *gateParser) latency(t *Threshold, agg string, at int) error {
	canon, ok := latencyAggs[agg]
	if !ok {
		return p.fail(at, "expected p(N), avg, med or max, got %q", agg)
	}
	t.Metric, t.Kind = canon, KindLatency
	switch {
	case agg == "med":
		t.Quantile, t.Arg = 50, "50"
	case agg == "p":
		arg, aat, err := p.argument()
		if err != nil {
			return err
		}
		q, err := strconv.ParseFloat(arg, 64)
		if err != nil || q < 0 || q > 100 || math.IsNaN(q) {
			return p.fail(aat, "p(N) takes a percentile between 0 and 100, got %q", arg)
		}
		t.Quantile, t.Arg = q, arg
	}
	return nil
}

func (p *gateParser) op(t *Threshold) error {
	at := p.pos
	p.skipSpace()
	rest := p.src[p.pos:]
	for _, op := range []Op{OpLE, OpGE, OpEQ, OpNE, OpLT, OpGT} {
		if strings.HasPrefix(rest, string(op)) {
			t.Op = op
			p.pos += len(op)
			return nil
		}
	}
	p.pos = at
	return p.fail(at, "expected a comparison (<, <=, >, >=, ==, !=)")
}

var durationUnits = map[string]float64{"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1, "s": 1e3, "m": 60e3, "h": 3600e3}

func (p *gateParser) value(t *Threshold) error {
	at := p.pos
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if (c >= '0' && c <= '9') || c == '.' || ((c == '-' || c == '+') && p.pos == start) {
			p.pos++
			continue
		}
		break
	}
	num := p.src[start:p.pos]
	if num == "" {
		p.pos = at
		return p.fail(at, "expected a number")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return p.fail(start, "bad number %q", num)
	}
	ustart := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ' ' && p.src[p.pos] != '\t' {
		p.pos++
	}
	unit := p.src[ustart:p.pos]
	switch {
	case unit == "":
		if t.Kind == KindRatio && (v < 0 || v > 1) {
			return p.fail(start, "a ratio is between 0 and 1 (or write a percentage like 99.5%%)")
		}
	case unit == "%":
		switch {
		case t.Kind == KindRatio:
		case t.Metric == "achieved_rate":
			t.Kind = KindRatio // becomes "X% of target", checked by the caller
		default:
			return p.fail(ustart, "%% only applies to ratios (rate(NAME), error_rate, availability, ...)")
		}
		v /= 100
	case durationUnits[unit] != 0:
		if t.Kind != KindLatency {
			return p.fail(ustart, "a duration only applies to latency metrics (p(N), avg, med, max)")
		}
		v *= durationUnits[unit]
	default:
		return p.fail(ustart, "unknown unit %q", unit)
	}
	t.Bound = v
	return nil
}

// String gives the canonical form of the gate.
func (t *Threshold) String() string { return t.Expr }
