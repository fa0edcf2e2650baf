package render

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flashload/flashload/result"
)

// RunLine is the first line a finished live run prints: where it was written, requests, rates
// and the two p99s.
func RunLine(w io.Writer, dir string, s *result.Summary) error {
	_, err := fmt.Fprintf(w, "%s: %d requests (%d dropped) at %.0f/s of %.0f/s; latency p99 %.1f ms, service time p99 %.1f ms\n",
		dir, s.Requests.Total, s.Requests.Dropped, s.Rate.AchievedAvg, s.Rate.TargetAvg, s.LatencyMs.P99, s.ServiceTimeMs.P99)
	return err
}

// Outcome writes how a run ended: its audit (when it ran), whether it was cut short, and its
// gates.
func Outcome(w io.Writer, s *result.Summary) error {
	if err := Audit(w, &s.Audit); err != nil {
		return err
	}
	if s.Partial {
		if _, err := fmt.Fprintln(w, "partial: the run was stopped before the end of the schedule"); err != nil {
			return err
		}
	}
	return Gates(w, "", s.Gates)
}

// Rehearsal is one strategy's rehearsal as `flashload rehearse` prints it.
type Rehearsal struct {
	Name   string          // the scenario
	Live   *result.Summary // the measurement (its Strategy names the inventory)
	Played *result.Summary // the simulation at the played scale, calibrated by Live; nil when not simulated
	Full   *result.Summary // the simulation at full scale; nil when not simulated
	Report string          // path of the HTML report
}

// RehearsalText writes the end of one rehearsal: measured against predicted (the calibration
// table), the full-scale prediction, the audit, the gates and where the report is.
func RehearsalText(w io.Writer, r Rehearsal) error {
	m := r.Live
	ew := &errWriter{w: w}
	ew.printf("\n%s on %s: %d requests (%d dropped) in %.1fs, %.0f/s achieved of %.0f/s\n",
		r.Name, m.Strategy, m.Requests.Total, m.Requests.Dropped, m.DurationS, m.Rate.AchievedAvg, m.Rate.TargetAvg)
	if ew.err != nil {
		return ew.err
	}
	if err := Calibration(w, m, r.Played); err != nil {
		return err
	}
	if len(m.SKUs) > 0 {
		ew.printf("sale per SKU (sold out at: scenario time; the full-scale simulation's beside it)\n")
		if ew.err == nil {
			ew.err = SKUTable(w, "  ", m, r.Full)
		}
	}
	if f := r.Full; f != nil {
		ew.printf("full scale (simulated): peak %.0f/s, p99 %.1f ms, availability %.3f%%, shed %d, replicas %d..%d\n",
			f.Rate.PeakTarget, f.LatencyMs.P99, result.Availability(f)*100, f.Requests.Shed, f.Replicas.Min, f.Replicas.Max)
	}
	if ew.err != nil {
		return ew.err
	}
	if err := Outcome(w, m); err != nil {
		return err
	}
	ew.printf("report: %s\n", r.Report)
	return ew.err
}

// Calibration writes the table of measured against predicted figures and how far apart they
// are; without a prediction (nil) the predicted columns show "-".
func Calibration(w io.Writer, measured, predicted *result.Summary) error {
	m, p := measured, predicted
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tmeasured\tpredicted (played scale)\tapart\t")
	row := func(name string, mv float64, pv func(*result.Summary) float64, unit string) {
		if p == nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t\n", name, calValue(mv, unit))
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, calValue(mv, unit), calValue(pv(p), unit), apart(mv, pv(p)))
	}
	row("achieved rate", m.Rate.AchievedAvg, func(s *result.Summary) float64 { return s.Rate.AchievedAvg }, "/s")
	row("latency p50", m.LatencyMs.P50, func(s *result.Summary) float64 { return s.LatencyMs.P50 }, "ms")
	row("latency p99", m.LatencyMs.P99, func(s *result.Summary) float64 { return s.LatencyMs.P99 }, "ms")
	row("service p99", m.ServiceTimeMs.P99, func(s *result.Summary) float64 { return s.ServiceTimeMs.P99 }, "ms")
	if m.ServerTimeMs != nil && (p == nil || p.ServerTimeMs != nil) {
		// The target's own time (Server-Timing), the simulator's without the model's round trip.
		row("server p99", m.ServerTimeMs.P99, func(s *result.Summary) float64 { return s.ServerTimeMs.P99 }, "ms")
	}
	row("errors", float64(m.Requests.Failed), func(s *result.Summary) float64 { return float64(s.Requests.Failed) }, "")
	row("shed", float64(m.Requests.Shed), func(s *result.Summary) float64 { return float64(s.Requests.Shed) }, "")
	if len(m.Scale) > 0 {
		// The autoscaler's decisions: levels of desired replicas, and the largest distance at a decision.
		if p == nil || len(p.Scale) == 0 {
			fmt.Fprintf(tw, "replicas (decisions)\t%s\t-\t-\t\n", ScaleLevelsText(m.Scale))
		} else {
			d := result.CompareScale(m.Scale, p.Scale)
			lag := "never"
			if !math.IsInf(d.MaxLagS, 1) {
				lag = dur(d.MaxLagS)
			}
			fmt.Fprintf(tw, "replicas (decisions)\t%s\t%s\t±%d, %s\t\n", ScaleLevelsText(m.Scale), ScaleLevelsText(p.Scale), d.MaxReplicas, lag)
		}
	}
	return tw.Flush()
}

func calValue(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// apart is the prediction's distance from the measurement, in percent of the measurement.
func apart(measured, predicted float64) string {
	if measured == 0 {
		if predicted == 0 {
			return "0%"
		}
		return "n/a"
	}
	return fmt.Sprintf("%+.0f%%", (predicted-measured)/math.Abs(measured)*100)
}

// ShootoutRow is one strategy of an architecture shoot-out: its measured run and its result.
type ShootoutRow struct {
	Live   *result.Summary // Strategy names the inventory; Gates decide the verdict
	Report string          // the HTML report, as the Markdown table should link it
}

func passed(gates []result.GateResult) bool {
	for _, g := range gates {
		if !g.Pass {
			return false
		}
	}
	return true
}

// ShootoutText writes the shoot-out as an aligned table, one row per strategy.
func ShootoutText(w io.Writer, rows []ShootoutRow) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tthroughput\tp99\tservice p99\tsold\toversold\tlost\tduplicates\tshed\tgates\t")
	for _, r := range rows {
		m := r.Live
		fmt.Fprintf(tw, "%s\t%.0f/s\t%.1f ms\t%.1f ms\t%d\t%d\t%d\t%d\t%d\t%s\t\n", m.Strategy, m.Rate.AchievedAvg,
			m.LatencyMs.P99, m.ServiceTimeMs.P99, m.Audit.Sold, m.Audit.Oversold, m.Audit.Lost, m.Audit.Duplicates,
			m.Requests.Shed, Verdict(passed(m.Gates)))
	}
	return tw.Flush()
}

// ShootoutMarkdown writes the shoot-out of scenario name as a Markdown page with a link to each
// strategy's result.
func ShootoutMarkdown(w io.Writer, name string, rows []ShootoutRow) error {
	ew := &errWriter{w: w}
	ew.printf("# Architecture shoot-out: %s\n\n", name)
	ew.printf("| strategy | throughput | p99 | service p99 | sold | oversold | lost | duplicates | shed | gates | report |\n")
	ew.printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		m := r.Live
		verdict := Verdict(passed(m.Gates))
		if !passed(m.Gates) {
			verdict = "**" + verdict + "**"
		}
		ew.printf("| %s | %.0f/s | %.1f ms | %.1f ms | %d | %d | %d | %d | %d | %s | [%s](%s) |\n", mdEscape(m.Strategy),
			m.Rate.AchievedAvg, m.LatencyMs.P99, m.ServiceTimeMs.P99, m.Audit.Sold, m.Audit.Oversold, m.Audit.Lost,
			m.Audit.Duplicates, m.Requests.Shed, verdict, r.Report, r.Report)
	}
	return ew.err
}

// Plan is the answer of a capacity search (sim.Plan) as `flashload plan` prints it.
type Plan struct {
	Name                    string
	Trials                  int
	Elapsed                 time.Duration
	Replicas, ModelReplicas int
	Shards, ModelShards     int             // ModelShards 0: the model has no database shards
	Passing                 *result.Summary // at the answer
	Failing                 *result.Summary // one replica below; nil when one replica passes

	// With an autoscaler in the loop (Autoscaled), the peak question: the least ceiling
	// (autoscaler.max) and pre-scale that pass, the most replicas the answer used, and the
	// replica-hours of the answer and of the model over Hours of scenario time.
	Autoscaled                      bool
	Ceiling, ModelCeiling           int
	PreScale, ModelPreScale, Peak   int
	ReplicaHours, ModelReplicaHours float64
	Hours                           float64
}

// PlanText writes the answer, the model's own figures and the margin: the gates at the answer and
// one replica below it.
func PlanText(w io.Writer, p Plan) error {
	ew := &errWriter{w: w}
	ew.printf("plan for %q: %d simulations in %s\n", p.Name, p.Trials, p.Elapsed.Round(time.Millisecond))
	if p.Autoscaled {
		ew.printf("  at the peak    %d replicas (the least autoscaler.max that passes; the model has %d: %s)\n",
			p.Ceiling, p.ModelCeiling, capacityHeadroom(p.ModelCeiling, p.Ceiling))
		ew.printf("  pre-scale      %d replicas ready before the spike, at that max (the model's %d: %s)\n",
			p.PreScale, p.ModelPreScale, capacityHeadroom(p.ModelPreScale, p.PreScale))
		ew.printf("  replica-hours  %.4g over %s at that pre-scale, peak %d (the model's run: %.4g; %d all day: %.4g)\n",
			p.ReplicaHours, time.Duration(p.Hours*float64(time.Hour)).Round(time.Second), p.Peak, p.ModelReplicaHours,
			p.Ceiling, float64(p.Ceiling)*p.Hours)
	} else {
		ew.printf("  replicas  %d (the model has %d: %s)\n", p.Replicas, p.ModelReplicas, capacityHeadroom(p.ModelReplicas, p.Replicas))
	}
	if p.ModelShards > 0 {
		ew.printf("  shards    %d (the model has %d: %s)\n", p.Shards, p.ModelShards, capacityHeadroom(p.ModelShards, p.Shards))
	}
	ew.printf("margin at the answer:\n")
	planMargin(ew, p.Passing)
	if p.Failing != nil {
		if p.Autoscaled {
			ew.printf("one step below the pre-scale fails (%d replicas at most):\n", p.Failing.Replicas.Max)
		} else {
			ew.printf("one step below (%d replicas) fails:\n", p.Replicas-1)
		}
		planMargin(ew, p.Failing)
	}
	return ew.err
}

func planMargin(ew *errWriter, s *result.Summary) {
	if ew.err == nil {
		ew.err = Gates(ew.w, "  ", s.Gates)
	}
	ew.printf("        replicas %d..%d, p99 %s, availability %.3f%%\n", s.Replicas.Min, s.Replicas.Max,
		result.FormatMs(s.LatencyMs.P99), result.Availability(s)*100)
}

// PlanTrial writes the progress line of one simulation of the capacity search.
func PlanTrial(w io.Writer, replicas, ceiling, shards int, pass bool, s *result.Summary, elapsed time.Duration) error {
	verdict := Verdict(pass)
	if !pass {
		verdict += " " + strings.Join(FailedGates(s.Gates), ", ")
	}
	sh := ""
	if shards > 0 {
		sh = fmt.Sprintf(", %d shards", shards)
	}
	if ceiling > 0 {
		sh = fmt.Sprintf(" (max %d, peak used %d)", ceiling, s.Replicas.Max) + sh
	}
	_, err := fmt.Fprintf(w, "plan: %d replicas%s: %s (%s)\n", replicas, sh, verdict, elapsed.Round(time.Millisecond))
	return err
}

func capacityHeadroom(model, least int) string {
	switch {
	case model > least:
		return fmt.Sprintf("%d spare, %.0f%% over the least", model-least, float64(model-least)/float64(least)*100)
	case model < least:
		return fmt.Sprintf("%d short: its gates fail", least-model)
	}
	return "no headroom"
}

// StepWindow is one step's answered requests in one timeline window (sim.StepWindow).
type StepWindow struct {
	T      float64 // run-clock seconds at the window's start
	N      int64
	MeanMs float64
}

// StepLatency writes each step's mean latency of answered requests over the run and in its worst
// window (a capacity table's "order latency" is the purchase step's), steps by name.
func StepLatency(w io.Writer, steps map[string][]StepWindow) error {
	ew := &errWriter{w: w}
	names := slices.Sorted(maps.Keys(steps))
	if len(names) > 0 {
		ew.printf("\nanswered requests by step (mean latency)\n")
	}
	for _, k := range names {
		var sum float64
		var n int64
		worst, at := 0.0, 0.0
		for _, sw := range steps[k] {
			sum += sw.MeanMs * float64(sw.N)
			n += sw.N
			if sw.N > 0 && sw.MeanMs > worst {
				worst, at = sw.MeanMs, sw.T
			}
		}
		if n == 0 {
			continue
		}
		ew.printf("  %-12s %12d answered  mean %s  worst window %s at %s\n", k, n, result.FormatMs(sum/float64(n)),
			result.FormatMs(worst), time.Duration(at*float64(time.Second)))
	}
	return ew.err
}
