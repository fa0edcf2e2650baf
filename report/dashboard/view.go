package dashboard

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/NimbleMarkets/ntcharts/sparkline"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/flashload/flashload/result"
)

const (
	minChartHeight = 5
	wideLayout     = 120 // from this width the three panels sit side by side
	panelGap       = 2
	maxWarnings    = 2 // warnings shown on a small terminal; twice as many from 40 lines
)

// View draws the whole dashboard from the last snapshot and the terminal size; it never
// reads the source.
func (m model) View() string {
	w, h := m.width, m.height
	if w <= 0 {
		w = defaultWidth
	}
	if h <= 0 {
		h = defaultHeight
	}
	m.snap = sanitized(m.snap) // snapshots set directly (tests) skip Update
	header := m.header(w)
	var body string
	if m.showHelp {
		body = m.helpView(w)
	} else {
		body = m.panels(w)
	}
	warn := m.warningsView(w)
	faults := m.faultsView(w)
	if p := m.pushView(); p != "" {
		faults = strings.TrimPrefix(faults+"\n"+p, "\n")
	}
	footer := m.footer(w)
	used := lipgloss.Height(header) + lipgloss.Height(body) + lipgloss.Height(footer) + 2 // chart title, next stage
	if warn != "" {
		used += lipgloss.Height(warn)
	}
	if faults != "" {
		used += lipgloss.Height(faults)
	}
	parts := []string{header, m.chartTitle(w), m.chart(w, max(minChartHeight, h-used)), m.nextStage(w)}
	if faults != "" {
		parts = append(parts, faults)
	}
	parts = append(parts, body)
	if warn != "" {
		parts = append(parts, warn)
	}
	parts = append(parts, footer)
	return clip(strings.Join(parts, "\n"), w, h)
}

// clip keeps the view inside the terminal: at most h lines of at most w cells, so the
// renderer never scrolls.
func clip(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	return strings.Join(lines, "\n")
}

func (m model) header(w int) string {
	s, st := m.snap, m.st
	sep := st.dim.Render(" · ")
	parts := []string{st.title.Render("flashload")}
	name := s.Name
	if name == "" {
		name = "waiting for the run"
	}
	parts = append(parts, st.value.Render(name))
	line := strings.Join(parts, " ")
	if s.Mode != "" {
		line += sep + s.Mode
	}
	if s.Target != "" {
		line += sep + "target " + s.Target
	}
	if s.Strategy != "" {
		line += sep + "strategy " + s.Strategy
	}
	if s.Segment != "" {
		line += sep + "segment " + s.Segment
	}
	status := st.good.Render("running")
	switch {
	case s.Done && s.Partial:
		status = st.warn.Render("done (partial)")
	case s.Done:
		status = st.good.Render("done")
	case m.stopping:
		status = st.warn.Render("stopping…")
	case !m.have:
		status = st.dim.Render("starting")
	}
	line = spread(line, status, w)

	clocks := fmt.Sprintf("scenario %s / %s   wall %s", clock(s.ScenarioT), clock(s.ScenarioDuration), clock(s.Wall))
	if c := finite(s.Compress); c > 0 {
		clocks += "   ×" + trimFloat(c)
	}
	clocks += "  "
	p := pct(s.Progress)
	bw := w - ansi.StringWidth(clocks) - len(p) - 1
	bar := ""
	if bw >= 5 {
		b := m.bar
		b.Width = bw
		bar = b.ViewAs(math.Max(0, math.Min(1, finite(s.Progress)))) + " "
	}
	return line + "\n" + clocks + bar + p
}

// spread puts left and right on one line of width w, right aligned; left is cut to fit.
func spread(left, right string, w int) string {
	rw := ansi.StringWidth(right)
	if ansi.StringWidth(left)+1+rw > w && w-1-rw > 0 {
		left = ansi.Truncate(left, w-1-rw, "…")
	}
	gap := w - ansi.StringWidth(left) - rw
	if gap < 1 {
		return left + " " + right
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m model) chartTitle(w int) string {
	st := m.st
	s := m.snap
	t := st.section.Render("Rate req/s") + "  " +
		st.target.Render("── target "+compact(s.Last.TargetRPS)) + "  " +
		st.achieved.Render("⣿⣿ achieved "+compact(s.Last.AchievedRPS))
	if s.Total.TargetRPS > 0 || s.Total.AchievedRPS > 0 {
		t += st.dim.Render(fmt.Sprintf("   avg %s of %s", compact(s.Total.AchievedRPS), compact(s.Total.TargetRPS)))
	}
	return t
}

func (m model) nextStage(w int) string {
	next := m.snap.NextStage
	if next == "" {
		next = "none (last stage)"
	}
	return m.st.dim.Render("next: ") + next
}

// chartKey is what the chart depends on; the timeline only grows at the end.
type chartKey struct {
	w, h, n                  int
	firstT, lastT            float64
	lastTarget, lastAchieved float64
	faults                   string // faultsKey
}

// chartCache keeps the last drawn chart: drawing it cell by cell is most of a frame's cost,
// and it changes once per window while the view redraws several times a second.
type chartCache struct {
	key  chartKey
	view string
	ok   bool
}

// chart returns the rate chart, redrawn only when its inputs changed.
func (m model) chart(w, h int) string {
	tl := m.snap.Timeline
	k := chartKey{w: w, h: h, n: len(tl), faults: faultsKey(m.snap.Faults)}
	if len(tl) > 0 {
		first, last := tl[0], tl[len(tl)-1]
		k.firstT, k.lastT, k.lastTarget, k.lastAchieved = first.T, last.T, last.TargetRPS, last.AchievedRPS
	}
	if m.charts == nil {
		return m.drawChart(w, h)
	}
	if !m.charts.ok || m.charts.key != k {
		m.charts.key, m.charts.view, m.charts.ok = k, m.drawChart(w, h), true
	}
	return m.charts.view
}

// drawChart draws target (line runes) and achieved (braille) rate over scenario time.
func (m model) drawChart(w, h int) string {
	tl := m.snap.Timeline
	minT, maxT := 0.0, 1.0
	if len(tl) > 0 {
		minT, maxT = finite(tl[0].T), finite(tl[len(tl)-1].T)
		if !(maxT > minT) {
			maxT = minT + 1
		}
	}
	maxY := 1.0
	for _, p := range tl {
		maxY = math.Max(maxY, math.Max(finite(p.TargetRPS), finite(p.AchievedRPS)))
	}
	maxY *= 1.15
	xstep := 12
	lc := linechart.New(w, h, minT, maxT, 0, maxY,
		linechart.WithXYSteps(xstep, 2),
		linechart.WithStyles(m.st.axis, m.st.dim, m.st.achieved),
		linechart.WithXLabelFormatter(func(_ int, v float64) string {
			return clock(time.Duration(v * float64(time.Second)))
		}),
		linechart.WithYLabelFormatter(func(_ int, v float64) string { return compact(v) }),
	)
	lc.DrawXYAxisAndLabel()
	if lc.GraphWidth() <= 0 || lc.GraphHeight() <= 0 {
		return lc.View()
	}
	pt := func(t, v float64) canvas.Float64Point {
		return canvas.Float64Point{X: finite(t), Y: math.Max(0, finite(v))}
	}
	for i := 1; i < len(tl); i++ {
		lc.DrawLineWithStyle(pt(tl[i-1].T, tl[i-1].TargetRPS), pt(tl[i].T, tl[i].TargetRPS), runes.ThinLineStyle, m.st.target)
	}
	g := graph.NewBrailleGrid(lc.GraphWidth(), lc.GraphHeight(), minT, maxT, 0, maxY)
	for i := range tl {
		j := min(i+1, len(tl)-1)
		a := g.GridPoint(pt(tl[i].T, tl[i].AchievedRPS))
		b := g.GridPoint(pt(tl[j].T, tl[j].AchievedRPS))
		for _, p := range graph.GetLinePoints(a, b) {
			g.Set(p)
		}
	}
	graph.DrawBraillePatterns(&lc.Canvas, canvas.Point{X: lc.Origin().X + 1, Y: 0}, g.BraillePatterns(), m.st.achieved)
	m.drawFaultMarkers(&lc, minT, maxT, maxY)
	return lc.View()
}

// panels lays out latency, answers and the sale: side by side when wide, two rows otherwise.
func (m model) panels(w int) string {
	if w >= wideLayout {
		cw := (w - 2*panelGap) / 3
		return row(cw, m.latencyPanel(cw), m.answersPanel(cw), m.salePanel(cw))
	}
	cw := (w - panelGap) / 2
	return row(cw, m.latencyPanel(cw), m.answersPanel(cw)) + "\n" + m.salePanel(w)
}

// row joins panels of width cw with a gap, each padded to its width.
func row(cw int, panels ...string) string {
	styled := make([]string, 0, 2*len(panels))
	for i, p := range panels {
		if i > 0 {
			styled = append(styled, strings.Repeat(" ", panelGap))
		}
		styled = append(styled, lipgloss.NewStyle().Width(cw).MaxWidth(cw).Render(p))
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, styled...)
}

// latencyPanel shows latency (from the intended send) beside service time (from the actual
// send), for the last window and the run so far, and a sparkline of p99 per window.
func (m model) latencyPanel(w int) string {
	s, st := m.snap, m.st
	var b strings.Builder
	b.WriteString(st.section.Render("Latency ms") + st.dim.Render(fmt.Sprintf("  %6s %6s %6s %6s", "p50", "p90", "p99", "p99.9")))
	rows := []struct {
		label string
		p     result.Percentiles
	}{
		{"latency now", s.Last.Latency},
		{"service now", s.Last.Service},
		{"latency all", s.Total.Latency},
		{"service all", s.Total.Service},
	}
	// Narrow panels (three columns on a 120-column terminal) get short labels, so a row never wraps.
	lw := 11
	if w < lw+4*7 {
		lw = 7
		b.Reset()
		b.WriteString(st.section.Render("Latency") + st.dim.Render(fmt.Sprintf(" %6s %6s %6s %6s", "p50", "p90", "p99", "p99.9")))
	}
	for _, r := range rows {
		label := r.label
		if lw == 7 {
			label = strings.NewReplacer("latency", "lat", "service", "svc").Replace(label)
		}
		fmt.Fprintf(&b, "\n%-*s %6s %6s %6s %6s", lw, label, ms(r.p.P50), ms(r.p.P90), ms(r.p.P99), ms(r.p.P999))
	}
	last := ms(s.Last.Latency.P99) + " ms"
	sw := w - len("p99 ") - len(last) - 1
	b.WriteString("\n" + st.dim.Render("p99 "))
	if sw >= 4 {
		sp := sparkline.New(sw, 1, sparkline.WithStyle(st.spark))
		for _, p := range s.Timeline {
			sp.Push(finite(p.P99Ms))
		}
		sp.Draw()
		b.WriteString(sp.View() + " ")
	}
	b.WriteString(last)
	if gap := omissionGap(s.Last); gap != "" {
		b.WriteString("\n" + st.warn.Render(gap))
	}
	return b.String()
}

// omissionGap says when latency from the intended send parts from service time: requests
// waited to be sent (the generator or the connection pool fell behind), which a closed-model
// tool would have hidden.
func omissionGap(ws result.WindowStats) string {
	lat, svc := finite(ws.Latency.P99), finite(ws.Service.P99)
	if lat <= 0 || lat-svc < 1 || lat < 1.5*svc {
		return ""
	}
	return fmt.Sprintf("p99 waited %s ms before sending", ms(lat-svc))
}

// answersPanel shows answers by code so far, errors by class, dropped arrivals and retries.
func (m model) answersPanel(w int) string {
	s, st := m.snap, m.st
	type kv struct {
		k string
		v int64
	}
	var pairs []kv
	named, other := answerCodes(s.ByCode)
	for _, c := range named {
		pairs = append(pairs, kv{codeLabel(c), s.ByCode[c]})
	}
	if other > 0 {
		pairs = append(pairs, kv{"other codes", other})
	}
	pairs = append(pairs, kv{"errors", s.Total.Errors}, kv{"dropped", s.Total.Dropped}, kv{"retries", s.Retries})
	var b strings.Builder
	b.WriteString(st.section.Render("Answers") + st.dim.Render(" so far of "+fit(s.Total.Requests, w-len("Answers so far of "))))
	half := (w - 1) / 2
	for i := 0; i < len(pairs); i += 2 {
		b.WriteString("\n" + field(pairs[i].k, fit(pairs[i].v, half-len(pairs[i].k)-1), half))
		if i+1 < len(pairs) {
			b.WriteString(" " + field(pairs[i+1].k, fit(pairs[i+1].v, half-len(pairs[i+1].k)-1), half))
		}
	}
	var classes []string
	for _, k := range slices.Sorted(maps.Keys(s.ByError)) {
		if n := s.ByError[k]; n > 0 {
			classes = append(classes, fmt.Sprintf("%s %s", k, count(n)))
		}
	}
	line := "no-answer errors: none"
	if len(classes) > 0 {
		line = "no-answer errors: " + strings.Join(classes, ", ")
	}
	b.WriteString("\n" + st.dim.Render(line))
	return b.String()
}

// fit is count(n) when it fits in w cells, else the compact form (4.0G).
func fit(n int64, w int) string {
	if c := count(n); len(c) <= w {
		return c
	}
	return compact(float64(n))
}

// field is "label ....... value" in width w.
func field(label, value string, w int) string {
	pad := w - len(label) - ansi.StringWidth(value)
	if pad < 1 {
		pad = 1
	}
	return label + strings.Repeat(" ", pad) + value
}

func (m model) warningsView(w int) string {
	var lines []string
	if m.snap.Oversold > 0 {
		lines = append(lines, m.st.bad.Render(fmt.Sprintf("✗ OVERSOLD %s units: the audit will fail", count(m.snap.Oversold))))
	}
	// Only the newest few: a long run can gather dozens, and the chart must keep its room.
	ws := warnings(m.snap)
	keep := maxWarnings
	if m.height >= 40 {
		keep = 2 * maxWarnings
	}
	if len(ws) > keep {
		lines = append(lines, m.st.dim.Render(fmt.Sprintf("… %d earlier warnings (all are in the summary)", len(ws)-keep)))
		ws = ws[len(ws)-keep:]
	}
	for _, x := range ws {
		lines = append(lines, m.st.warn.Render("⚠ "+x))
	}
	for _, x := range GeneratorLines(m.snap) {
		lines = append(lines, m.st.dim.Render(ansi.Truncate(x, w, "…")))
	}
	return strings.Join(lines, "\n")
}

func (m model) footer(w int) string {
	if m.stopping && !m.snap.Done {
		return m.st.warn.Render("stopping: waiting for the run to write its summary (q again: leave now)")
	}
	return m.help.View(m.keys)
}

// helpView replaces the panels while ? is on: the keys and how to read the dashboard.
func (m model) helpView(w int) string {
	st := m.st
	lines := []string{
		st.section.Render("Help"),
		m.help.FullHelpView(m.keys.FullHelp()),
		"latency: from the intended send time (open model, no coordinated omission);",
		"service: from the actual send. When they part, requests waited to be sent.",
		"rate chart: ── target (the curve), ⣿ achieved; x is scenario time; ▼│ a fault applied, ┊ ended.",
		"dropped: arrivals the generator could not start on time (counted, never delayed).",
		"q once stops the run gracefully and waits for its summary; q again leaves at once.",
	}
	return strings.Join(lines, "\n")
}

// trimFloat formats f without trailing zeros.
func trimFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}
