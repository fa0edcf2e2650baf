// Package render turns a run (result.Run, result.Summary) into what people and CI read: an
// end-of-run text summary for the terminal, JSON, a Markdown pull-request comment, JUnit XML
// (each gate a test case), a CSV timeline, and one self-contained HTML file whose interactive
// charts the live page's front-end (report/web/ui, embedded in the file) draws from the run's
// data. Every renderer is a func(io.Writer, ...) error; WriteAll writes a run
// directory (summary.json, histograms.hlog, report.html) at the end of a run. A run may carry
// a predicted summary (the simulator's) that the text, Markdown and HTML renderers show beside
// the measured one.
package render

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flashload/flashload/result"
)

// Formats lists the names Format accepts.
var Formats = []string{"text", "json", "markdown", "junit", "csv", "html"}

// Format renders run in the named format. predicted may be nil.
func Format(w io.Writer, format string, run *result.Run, predicted *result.Summary) error {
	s := run.Summary
	switch format {
	case "text", "":
		return Text(w, s, predicted)
	case "json":
		return JSON(w, s)
	case "markdown", "md":
		return Markdown(w, s, predicted)
	case "junit":
		return JUnit(w, s)
	case "csv":
		return CSV(w, s)
	case "html":
		return HTML(w, run, predicted)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// Text writes the end-of-run summary people read in a terminal.
func Text(w io.Writer, s *result.Summary, predicted *result.Summary) error {
	return TextFull(w, s, predicted, nil)
}

// TextFull is Text with the full-scale simulation of the same scenario (nil: none), whose
// sell-out moments the sale table shows beside the run's.
func TextFull(w io.Writer, s, predicted, full *result.Summary) error {
	ew := &errWriter{w: w}
	head := []string{"flashload " + s.Name, s.Mode}
	if s.Strategy != "" {
		head = append(head, "strategy "+s.Strategy)
	}
	if s.Segment != "" {
		head = append(head, "segment "+s.Segment)
	}
	head = append(head, "seed "+strconv.FormatInt(s.Seed, 10))
	ew.printf("%s\n", strings.Join(head, "  "))
	line := fmt.Sprintf("  ran %s of run clock", dur(s.DurationS))
	if s.ScenarioTimeS != s.DurationS {
		line += fmt.Sprintf(", %s of scenario", dur(s.ScenarioTimeS))
	}
	if !s.StartedAt.IsZero() {
		line += ", started " + s.StartedAt.UTC().Format(time.RFC3339)
	}
	if s.Target != "" {
		line += ", target " + s.Target
	}
	if s.Partial {
		line += "  (PARTIAL: stopped early)"
	}
	ew.printf("%s\n\n", line)

	r := s.Requests
	ew.printf("%-10s %d total  %d ok  %d failed (%d errors, %d shed)  %d dropped  %d retries\n",
		"requests", r.Total, r.OK, r.Failed, r.Errors, r.Shed, r.Dropped, r.Retries)
	ew.printf("%-10s target %s avg, %s peak   achieved %s avg, %s peak\n", "rate",
		rps(s.Rate.TargetAvg), rps(s.Rate.PeakTarget), rps(s.Rate.AchievedAvg), rps(s.Rate.PeakAchieved))
	if r.Arrivals > 0 {
		ew.printf("%-10s %s answers, %d journeys started (achieved counts journeys, as the target does)\n", "",
			rps(s.Rate.RequestsAvg), r.Arrivals)
	}
	ew.printf("%-10s %s   (from the intended send time)\n", "latency", pcts(s.LatencyMs))
	ew.printf("%-10s %s   (from the actual send time)\n", "service", pcts(s.ServiceTimeMs))
	if s.ServerTimeMs != nil {
		ew.printf("%-10s %s   (the target's own, Server-Timing)\n", "server", pcts(*s.ServerTimeMs))
	}
	if len(r.ByCode) > 0 {
		ew.printf("%-10s %s\n", "codes", counts(r.ByCode))
	}
	if len(r.ByStatus) > 0 {
		ew.printf("%-10s %s\n", "status", counts(r.ByStatus))
	}
	if len(r.ByError) > 0 {
		ew.printf("%-10s %s\n", "errors", counts(r.ByError))
	}
	if len(s.Steps) > 0 {
		ew.printf("\n")
		if ew.err == nil {
			ew.err = NamedTable(w, "  ", "step", s.Steps)
		}
		if len(s.Journeys) > 0 && ew.err == nil {
			ew.printf("\n")
			ew.err = NamedTable(w, "  ", "journey", s.Journeys)
		}
		ew.printf("\n")
	} else if len(r.ByStep) > 0 {
		ew.printf("%-10s %s\n", "steps", counts(r.ByStep))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Rates)) {
		q := s.Rates[k]
		ew.printf("%-10s rate(%s) %s (%d/%d)\n", "ratios", k, pct(q.Value), q.Num, q.Den)
	}
	ew.printf("%-10s %s\n", "audit", AuditLine(&s.Audit))
	for _, v := range s.Audit.Violations {
		ew.printf("%-10s ! %s\n", "", v)
	}
	if len(s.SKUs) > 0 {
		ew.printf("\nsale per SKU (sold out at: scenario time)\n")
		if ew.err == nil {
			ew.err = SKUTable(w, "  ", s, full)
		}
		ew.printf("\n")
	}
	for _, f := range s.Faults {
		ew.printf("%-10s %s\n", "fault", FaultLine(f))
	}
	if s.Replicas.Max > 0 {
		ew.printf("%-10s %d..%d\n", "replicas", s.Replicas.Min, s.Replicas.Max)
	}
	if len(s.Requests.ByReplica) > 1 {
		ew.printf("\nload per replica\n")
		if ew.err == nil {
			ew.err = ReplicaTable(w, "  ", s)
		}
	}
	if predicted != nil {
		ew.printf("\n%-24s %14s %14s\n", "measured vs predicted", "measured", "predicted")
		for _, row := range sideBySide(s, predicted) {
			ew.printf("  %-22s %14s %14s\n", row[0], row[1], row[2])
		}
	}
	if len(s.Gates) > 0 {
		ew.printf("\ngates\n")
		if ew.err == nil {
			ew.err = Gates(w, "  ", s.Gates)
		}
	}
	if len(s.Warnings) > 0 {
		ew.printf("\nwarnings\n")
		for _, warn := range s.Warnings {
			ew.printf("  - %s\n", warn)
		}
	}
	return ew.err
}

// sideBySide is the measured-vs-predicted table: metric, measured, predicted.
func sideBySide(s, p *result.Summary) [][3]string {
	share := func(s *result.Summary, n int64) string {
		if s.Requests.Total == 0 {
			return "-"
		}
		return pct(float64(n) / float64(s.Requests.Total))
	}
	reps := func(s *result.Summary) string {
		if s.Replicas.Max == 0 {
			return "-"
		}
		return fmt.Sprintf("%d..%d", s.Replicas.Min, s.Replicas.Max)
	}
	return [][3]string{
		{"latency p50", result.FormatMs(s.LatencyMs.P50), result.FormatMs(p.LatencyMs.P50)},
		{"latency p99", result.FormatMs(s.LatencyMs.P99), result.FormatMs(p.LatencyMs.P99)},
		{"latency p99.9", result.FormatMs(s.LatencyMs.P999), result.FormatMs(p.LatencyMs.P999)},
		{"achieved rate", rps(s.Rate.AchievedAvg), rps(p.Rate.AchievedAvg)},
		{"error rate", share(s, s.Requests.Errors), share(p, p.Requests.Errors)},
		{"shed rate", share(s, s.Requests.Shed), share(p, p.Requests.Shed)},
		{"replicas", reps(s), reps(p)},
	}
}

// AuditLine is the audit in one line: every count and the verdict, or why it was not checked.
func AuditLine(a *result.Audit) string {
	if !a.Checked {
		return result.AuditNotChecked(a)
	}
	verdict := "ok"
	if len(a.Violations) > 0 || a.Oversold > 0 || a.Lost > 0 || a.Duplicates > 0 {
		verdict = "VIOLATED"
	}
	return fmt.Sprintf("stock %d  sold %d  paid %d  released %d  oversold %d  lost %d  unknown %d  duplicates %d  unexpected %d  undersold %d  -> %s",
		a.Stock, a.Sold, a.Paid, a.Released, a.Oversold, a.Lost, a.Unknown, a.Duplicates, a.Unexpected, a.Undersold, verdict)
}

func pcts(p result.Percentiles) string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s", result.FormatMs(p.P50), result.FormatMs(p.P90),
		result.FormatMs(p.P99), result.FormatMs(p.P999), result.FormatMs(p.Max), result.FormatMs(p.Mean))
}

// counts prints a counter map, largest first (ties by name).
func counts(m map[string]int64) string {
	ks := slices.Sorted(maps.Keys(m))
	sort.SliceStable(ks, func(i, j int) bool { return m[ks[i]] > m[ks[j]] })
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, "  ")
}

func pct(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }

func rps(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "/s" }

func dur(secs float64) string {
	return time.Duration(secs * float64(time.Second)).Round(time.Millisecond).String()
}

// errWriter keeps the first write error, so renderers can print freely and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
