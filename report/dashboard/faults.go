package dashboard

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/linechart"

	"github.com/flashload/flashload/result"
)

// maxFaultLines is how many faults get a line of their own; more are summed up in one line.
const maxFaultLines = 3

// faultState is a fault's state for its line and the progress output: ok, failed: ERR, ended.
func faultState(f result.Fault) string {
	switch {
	case !f.OK && f.Error != "":
		return "failed: " + printable(f.Error)
	case f.EndedAtS > 0:
		return "ok, ended " + clock(secs(f.EndedAtS))
	case f.OK:
		return "ok"
	}
	return "applying"
}

// FaultLine is one fault as the dashboard and the plain progress output say it: "▼ fault
// redis:failover (for 2s) at 0:00:02, applied 0:00:03: ok".
func FaultLine(f result.Fault) string {
	var b strings.Builder
	b.WriteString("▼ fault " + printable(f.Kind))
	if f.Detail != "" {
		b.WriteString(" (" + printable(f.Detail) + ")")
	}
	fmt.Fprintf(&b, " at %s", clock(secs(f.AtS)))
	if f.AppliedAtS > 0 {
		fmt.Fprintf(&b, ", applied %s", clock(secs(f.AppliedAtS)))
	}
	return b.String() + ": " + faultState(f)
}

func secs(s float64) time.Duration { return time.Duration(finite(s) * float64(time.Second)) }

// faultsView is a line per fault applied so far (the newest maxFaultLines), "" without faults.
func (m model) faultsView(w int) string {
	fs := m.snap.Faults
	if len(fs) == 0 {
		return ""
	}
	keep := maxFaultLines
	if m.height < 30 {
		keep = 1 // the chart keeps its room on a small terminal
	}
	var lines []string
	if len(fs) > keep {
		lines = append(lines, m.st.dim.Render(fmt.Sprintf("… %d earlier faults (all are in the summary)", len(fs)-keep)))
		fs = fs[len(fs)-keep:]
	}
	for _, f := range fs {
		st := m.st.fault
		if !f.OK && f.Error != "" {
			st = m.st.bad
		}
		lines = append(lines, st.Render(FaultLine(f)))
	}
	return strings.Join(lines, "\n")
}

// faultsKey is what the chart's fault markers depend on.
func faultsKey(fs []result.Fault) string {
	var b strings.Builder
	for _, f := range fs {
		from, to := f.Span()
		b.WriteString(strconv.FormatFloat(from, 'g', -1, 64) + "-" + strconv.FormatFloat(to, 'g', -1, 64) + ";")
	}
	return b.String()
}

// drawFaultMarkers draws each fault on the rate chart: a vertical line where it took effect
// (a dotted one where a lasting fault ended) with a ▼ on the top row, when inside the chart's
// time range.
func (m model) drawFaultMarkers(lc *linechart.Model, minT, maxT, maxY float64) {
	for _, f := range m.snap.Faults {
		from, to := f.Span()
		st := m.st.fault
		if !f.OK && f.Error != "" {
			st = m.st.bad
		}
		if to > from && to >= minT && to <= maxT {
			lc.DrawRuneLineWithStyle(canvas.Float64Point{X: to}, canvas.Float64Point{X: to, Y: maxY}, '┊', st)
		}
		if from < minT || from > maxT {
			continue
		}
		lc.DrawRuneLineWithStyle(canvas.Float64Point{X: from}, canvas.Float64Point{X: from, Y: maxY}, '│', st)
		lc.DrawRuneWithStyle(canvas.Float64Point{X: from, Y: maxY}, '▼', st)
	}
}
