package result

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/flashload/flashload/gate"
	"golang.org/x/perf/benchmath"
)

// DefaultAlpha is the significance level of comparisons.
const DefaultAlpha = 0.05

// CompareOptions configure Compare. Zero values mean "default".
type CompareOptions struct {
	Alpha         float64  // Mann-Whitney significance level; default DefaultAlpha
	MaxRegression float64  // fraction (0.10 = 10%); 0: no regression check
	Labels        []string // one per run; default the summaries' names (or strategies)
}

// Comparison is runs side by side: the first is the base.
type Comparison struct {
	Labels        []string
	Alpha         float64
	MaxRegression float64
	Rows          []CompareRow
}

// CompareRow is one metric across the runs.
type CompareRow struct {
	Metric        string
	Kind          gate.Kind
	LowerIsBetter bool
	Invariant     bool      // oversold, lost, duplicates: any increase is a regression
	Values        []float64 // one per run
	Cells         []CompareCell
}

// CompareCell compares run i (i ≥ 1) with the base: Cells[i-1].
type CompareCell struct {
	Change      float64 // (new - base) / base; ±Inf when the base is 0 and new is not; 0 when both are
	P           float64 // Mann-Whitney U p-value over per-window samples; NaN when there are none
	N1, N2      int     // sample sizes
	Significant bool
	Regression  bool // worse, significant, and by more than MaxRegression
}

// Regression describes one regression found by Compare.
type Regression struct {
	Label, Metric string
	Change, P     float64
}

func (r Regression) String() string {
	if math.IsNaN(r.P) {
		return fmt.Sprintf("%s: %s %s", r.Label, r.Metric, FormatChange(r.Change))
	}
	return fmt.Sprintf("%s: %s %s (p=%.3g)", r.Label, r.Metric, FormatChange(r.Change), r.P)
}

// FormatChange prints a change as a signed percentage.
func FormatChange(c float64) string {
	switch {
	case math.IsInf(c, 1):
		return "+∞%"
	case math.IsInf(c, -1):
		return "-∞%"
	case math.IsNaN(c):
		return "?"
	}
	return fmt.Sprintf("%+.1f%%", c*100)
}

// Regressions lists the cells flagged as regressions.
func (c *Comparison) Regressions() []Regression {
	var out []Regression
	for _, row := range c.Rows {
		for i, cell := range row.Cells {
			if cell.Regression {
				out = append(out, Regression{Label: c.Labels[i+1], Metric: row.Metric, Change: cell.Change, P: cell.P})
			}
		}
	}
	return out
}

// metricDef reads one comparable metric: its value from the summary and its per-window samples.
type metricDef struct {
	name      string
	kind      gate.Kind
	lower     bool
	invariant bool
	value     func(*Summary) (float64, bool)
	samples   func(*Run) []float64
}

// Compare puts runs side by side. Latency percentiles, rates and error shares are tested for
// significance with the Mann-Whitney U test over per-window samples (each timeline window's
// percentile or share), so a comparison needs no repeated runs: a 60 s run gives 60 samples.
// Runs read with ReadRun carry the window histograms; with a summary alone the p50/p99 samples
// come from the timeline and p90/p99.9 have none (never significant).
func Compare(runs []*Run, opts CompareOptions) (*Comparison, error) {
	if len(runs) < 2 {
		return nil, errors.New("compare: need at least two runs")
	}
	if opts.Alpha <= 0 {
		opts.Alpha = DefaultAlpha
	}
	c := &Comparison{Alpha: opts.Alpha, MaxRegression: opts.MaxRegression}
	for i, r := range runs {
		label := ""
		if i < len(opts.Labels) {
			label = opts.Labels[i]
		}
		if label == "" {
			label = r.Summary.Name
			if r.Summary.Strategy != "" {
				label = r.Summary.Strategy
			}
		}
		c.Labels = append(c.Labels, label)
	}
	th := &benchmath.Thresholds{CompareAlpha: opts.Alpha}
	for _, m := range compareMetrics(runs) {
		row := CompareRow{Metric: m.name, Kind: m.kind, LowerIsBetter: m.lower, Invariant: m.invariant}
		present := 0
		for _, r := range runs {
			v, ok := m.value(r.Summary)
			if ok {
				present++
			} else {
				v = math.NaN()
			}
			row.Values = append(row.Values, v)
		}
		if present == 0 {
			continue
		}
		var base []float64
		if m.samples != nil {
			base = m.samples(runs[0])
		}
		for i := 1; i < len(runs); i++ {
			cell := CompareCell{Change: change(row.Values[0], row.Values[i]), P: math.NaN()}
			worse := cell.Change > 0
			if !m.lower {
				worse = cell.Change < 0
			}
			if m.samples != nil {
				s2 := m.samples(runs[i])
				cell.N1, cell.N2 = len(base), len(s2)
				if len(base) > 0 && len(s2) > 0 {
					cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(base, th), benchmath.NewSample(s2, th))
					cell.P = cmp.P
					cell.Significant = cmp.P <= opts.Alpha
				}
			}
			switch {
			case m.invariant:
				cell.Significant = row.Values[i] != row.Values[0]
				cell.Regression = row.Values[i] > row.Values[0]
			case opts.MaxRegression > 0 && cell.Significant && worse:
				cell.Regression = math.Abs(cell.Change) > opts.MaxRegression
			}
			row.Cells = append(row.Cells, cell)
		}
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}

func change(base, v float64) float64 {
	switch {
	case math.IsNaN(base) || math.IsNaN(v):
		return math.NaN()
	case base == v:
		return 0
	case base == 0:
		return math.Inf(int(math.Copysign(1, v)))
	}
	return (v - base) / math.Abs(base)
}

func latencyDef(name string, q float64, service bool) metricDef {
	pick := func(s *Summary) Percentiles {
		if service {
			return s.ServiceTimeMs
		}
		return s.LatencyMs
	}
	return metricDef{name: name, kind: gate.KindLatency, lower: true,
		value: func(s *Summary) (float64, bool) { return pick(s).Quantile(q) },
		samples: func(r *Run) []float64 {
			var out []float64
			if len(r.Windows) > 0 {
				for _, w := range r.Windows {
					h := w.Latency
					if service {
						h = w.ServiceTime
					}
					if h.TotalCount() > 0 {
						out = append(out, usToMs(h.ValueAtPercentile(q)))
					}
				}
				return out
			}
			if service || (q != 50 && q != 99) {
				return nil
			}
			for _, p := range r.Summary.Timeline {
				if p.AchievedRPS > 0 {
					out = append(out, map[float64]float64{50: p.P50Ms, 99: p.P99Ms}[q])
				}
			}
			return out
		}}
}

// windowShare returns per-window shares num(p)/answers, for windows that had answers.
func windowShare(num func(TimelinePoint) int64) func(*Run) []float64 {
	return func(r *Run) []float64 {
		var out []float64
		for _, p := range r.Summary.Timeline {
			if p.Requests > 0 {
				out = append(out, float64(num(p))/float64(p.Requests))
			}
		}
		return out
	}
}

func compareMetrics(runs []*Run) []metricDef {
	share := func(n, d int64) float64 {
		if d == 0 {
			return 0
		}
		return float64(n) / float64(d)
	}
	always := func(f func(*Summary) float64) func(*Summary) (float64, bool) {
		return func(s *Summary) (float64, bool) { return f(s), true }
	}
	audit := func(f func(*Audit) int64) func(*Summary) (float64, bool) {
		return func(s *Summary) (float64, bool) { return float64(f(&s.Audit)), s.Audit.Checked }
	}
	defs := []metricDef{
		latencyDef("p50", 50, false),
		latencyDef("p90", 90, false),
		latencyDef("p99", 99, false),
		latencyDef("p99.9", 99.9, false),
		latencyDef("service p99", 99, true),
		{name: "achieved rate", kind: gate.KindRate, value: always(func(s *Summary) float64 { return s.Rate.AchievedAvg }),
			samples: func(r *Run) []float64 {
				var out []float64
				for _, p := range r.Summary.Timeline {
					if p.Wall+r.Summary.WindowS <= r.Summary.DurationS+1e-9 {
						out = append(out, p.AchievedRPS)
					}
				}
				return out
			}},
		{name: "error rate", kind: gate.KindRatio, lower: true,
			value:   always(func(s *Summary) float64 { return share(s.Requests.Errors, s.Requests.Total) }),
			samples: windowShare(func(p TimelinePoint) int64 { return p.Errors })},
		{name: "shed rate", kind: gate.KindRatio, lower: true,
			value:   always(func(s *Summary) float64 { return share(s.Requests.Shed, s.Requests.Total) }),
			samples: windowShare(func(p TimelinePoint) int64 { return p.Shed })},
		{name: "dropped", kind: gate.KindCount, lower: true, value: always(func(s *Summary) float64 { return float64(s.Requests.Dropped) })},
		{name: "oversold", kind: gate.KindCount, lower: true, invariant: true, value: audit(func(a *Audit) int64 { return a.Oversold })},
		{name: "lost", kind: gate.KindCount, lower: true, invariant: true, value: audit(func(a *Audit) int64 { return a.Lost })},
		{name: "duplicates", kind: gate.KindCount, lower: true, invariant: true, value: audit(func(a *Audit) int64 { return a.Duplicates })},
	}
	var names []string
	for _, r := range runs {
		for _, k := range slices.Sorted(maps.Keys(r.Summary.Rates)) {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	for _, k := range names {
		defs = append(defs, metricDef{name: "rate(" + k + ")", kind: gate.KindRatio,
			value: func(s *Summary) (float64, bool) { q, ok := s.Rates[k]; return q.Value, ok }})
	}
	return defs
}
