package render

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/flashload/flashload/result"
)

// FaultLine is one applied fault as the text outputs print it:
// "redis:kill (for 2s) at 3.0s, applied 3.0s, ended 5.1s: ok".
func FaultLine(f result.Fault) string {
	d := ""
	if f.Detail != "" {
		d = " (" + f.Detail + ")"
	}
	s := fmt.Sprintf("%s%s at %s, applied %s", f.Kind, d, secs(f.AtS), secs(f.AppliedAtS))
	if f.EndedAtS > 0 {
		s += ", ended " + secs(f.EndedAtS)
	}
	if f.OK {
		return s + ": ok"
	}
	return s + ": FAILED: " + f.Error
}

func secs(s float64) string { return strconv.FormatFloat(s, 'f', 1, 64) + "s" }

// Faults writes one "fault ..." line per applied fault (scenario times); nothing without faults.
func Faults(w io.Writer, faults []result.Fault) error {
	ew := &errWriter{w: w}
	for _, f := range faults {
		ew.printf("fault  %s\n", FaultLine(f))
	}
	return ew.err
}

// FaultRow is one strategy of the fault matrix: its live run, or why it was not run.
type FaultRow struct {
	Strategy string
	Live     *result.Summary // nil when the strategy was skipped
	NA       string          // why it was skipped: "no redis"
}

func (r FaultRow) cells() []string {
	if r.Live == nil {
		na := "n/a (" + r.NA + ")"
		return []string{r.Strategy, na, "", "", "", "", "", "", ""}
	}
	a := &r.Live.Audit
	if !a.Checked {
		nc := result.AuditNotChecked(a)
		return []string{r.Strategy, nc, "", "", "", "", "", pct(result.Availability(r.Live)), result.FormatMs(r.Live.LatencyMs.P99)}
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{r.Strategy, n(a.Sold), n(a.Oversold), n(a.Lost), n(a.Unknown), n(a.Duplicates), n(a.Undersold),
		pct(result.Availability(r.Live)), result.FormatMs(r.Live.LatencyMs.P99)}
}

var faultMatrixHead = []string{"strategy", "sold", "oversold", "lost", "unknown", "duplicates", "undersold", "availability", "p99"}

// FaultMatrixText writes the fault matrix: strategy × what the audit found, availability and p99.
func FaultMatrixText(w io.Writer, rows []FaultRow) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	line := func(cells []string) {
		for _, c := range cells {
			fmt.Fprintf(tw, "%s\t", c)
		}
		fmt.Fprintln(tw)
	}
	line(faultMatrixHead)
	for _, r := range rows {
		line(r.cells())
	}
	return tw.Flush()
}

// FaultMatrixMarkdown writes the fault matrix of scenario name as a Markdown table, with the
// faults it played.
func FaultMatrixMarkdown(w io.Writer, name string, faults []result.Fault, rows []FaultRow) error {
	ew := &errWriter{w: w}
	ew.printf("# Fault matrix: %s\n\n", name)
	for _, f := range faults {
		ew.printf("- fault: %s\n", mdEscape(FaultLine(f)))
	}
	if len(faults) > 0 {
		ew.printf("\n")
	}
	ew.printf("|")
	for _, h := range faultMatrixHead {
		ew.printf(" %s |", h)
	}
	ew.printf("\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		ew.printf("|")
		for _, c := range r.cells() {
			ew.printf(" %s |", mdEscape(c))
		}
		ew.printf("\n")
	}
	return ew.err
}
