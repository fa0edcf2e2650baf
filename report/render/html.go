package render

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/flashload/flashload/result"
)

// Chart is one figure of the HTML result.
type Chart struct {
	ID, Title, Note string
	SVG             template.HTML
}

// Charts draws the report's charts: target against achieved rate, latency percentiles over time,
// errors/shed/dropped, stock left, replicas (when known) and the latency percentile spectrum.
// predicted, when not nil, is drawn beside the measurement (dashed).
func Charts(run *result.Run, predicted *result.Summary) ([]Chart, error) {
	s := run.Summary
	div, unit := timeScale(s, predicted)
	xs := func(tl []result.TimelinePoint, y func(result.TimelinePoint) float64) plotter.XYs {
		out := make(plotter.XYs, len(tl))
		for i, p := range tl {
			out[i] = plotter.XY{X: p.T / div, Y: y(p)}
		}
		return out
	}
	pred := func(y func(result.TimelinePoint) float64) []chartSeries {
		if predicted == nil || len(predicted.Timeline) == 0 {
			return nil
		}
		return []chartSeries{{"predicted", xs(predicted.Timeline, y), true}}
	}
	xlabel := "scenario time (" + unit + ")"
	specs := []chartSpec{
		{id: "rate", title: "Target and achieved rate", ylabel: "requests/s", series: append([]chartSeries{
			{"target", xs(s.Timeline, func(p result.TimelinePoint) float64 { return p.TargetRPS }), false},
			{"achieved", xs(s.Timeline, func(p result.TimelinePoint) float64 { return p.AchievedRPS }), false},
		}, pred(func(p result.TimelinePoint) float64 { return p.AchievedRPS })...)},
		{id: "latency", title: "Latency over time (from the intended send time)", ylabel: "ms", series: append([]chartSeries{
			{"p50", xs(s.Timeline, func(p result.TimelinePoint) float64 { return p.P50Ms }), false},
			{"p99", xs(s.Timeline, func(p result.TimelinePoint) float64 { return p.P99Ms }), false},
		}, pred(func(p result.TimelinePoint) float64 { return p.P99Ms })...)},
		{id: "errors", title: "Errors, shed and dropped per window", ylabel: "requests", series: []chartSeries{
			{"errors", xs(s.Timeline, func(p result.TimelinePoint) float64 { return float64(p.Errors) }), false},
			{"shed", xs(s.Timeline, func(p result.TimelinePoint) float64 { return float64(p.Shed) }), false},
			{"dropped", xs(s.Timeline, func(p result.TimelinePoint) float64 { return float64(p.Dropped) }), false},
		}},
	}
	specs = append(specs, stockSpecs(s, predicted, func(tl []result.TimelinePoint, sku string) plotter.XYs {
		return xs(tl, func(p result.TimelinePoint) float64 { return float64(p.SKULeft[sku]) })
	}, xs, div)...)
	if s.Replicas.Max > 0 || (predicted != nil && predicted.Replicas.Max > 0) {
		specs = append(specs, chartSpec{id: "replicas", title: "Replicas", ylabel: "replicas", series: append([]chartSeries{
			{"replicas", xs(s.Timeline, func(p result.TimelinePoint) float64 { return float64(p.Replicas) }), false},
		}, pred(func(p result.TimelinePoint) float64 { return float64(p.Replicas) })...)})
	}
	if sp, ok := scaleSpec(s, predicted, div); ok {
		specs = append(specs, sp)
	}
	if sp, ok := replicaSpec(s, div); ok {
		specs = append(specs, sp)
	}
	var charts []Chart
	for _, sp := range specs {
		sp.faults = s.Faults
		if !sp.hasData() { // a chart of nothing but zeros says nothing: left out
			continue
		}
		c, err := sp.draw(xlabel, div)
		if err != nil {
			return nil, err
		}
		charts = append(charts, c)
	}
	spectrum, err := spectrumChart(run, predicted)
	if err != nil {
		return nil, err
	}
	return append(charts, spectrum), nil
}

// timeScale picks the unit of the time axis from the longest timeline.
func timeScale(s, predicted *result.Summary) (float64, string) {
	last := 0.0
	for _, sum := range []*result.Summary{s, predicted} {
		if sum != nil && len(sum.Timeline) > 0 {
			last = math.Max(last, sum.Timeline[len(sum.Timeline)-1].T)
		}
	}
	switch {
	case last > 3*3600:
		return 3600, "h"
	case last > 3*60:
		return 60, "min"
	}
	return 1, "s"
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

func newPlot(x, y string) *plot.Plot {
	// The figure's caption carries the title; the SVG stays free of a second one.
	p := plot.New()
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, name string, xy plotter.XYs, i int, dashed bool) error {
	if len(xy) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return fmt.Errorf("chart line %s: %w", name, err)
	}
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.5)
	if dashed {
		l.Color = color.Gray{Y: 0x55}
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	if i := strings.LastIndex(name, ", "); i >= 0 {
		name = name[i+2:]
	}
	p.Legend.Add(name, l)
	return nil
}

// headroom raises the y range so the legend (top left) sits above the lines.
func headroom(p *plot.Plot) {
	if p.Y.Max > p.Y.Min {
		p.Y.Max += 0.2 * (p.Y.Max - p.Y.Min)
	} else {
		p.Y.Max = p.Y.Min + 1
	}
}

// spectrumChart draws latency against percentile on a log scale of 1/(1-q): 50, 90, 99, 99.9...
func spectrumChart(run *result.Run, predicted *result.Summary) (Chart, error) {
	const title = "Latency percentile spectrum"
	p := newPlot("percentile", "ms")
	p.X.Tick.Marker = spectrumTicks{}
	var measured plotter.XYs
	if run.Latency != nil && run.Latency.TotalCount() > 0 {
		for x := 0.0; x <= 5.0001; x += 0.05 {
			q := 100 * (1 - math.Pow(10, -x))
			measured = append(measured, plotter.XY{X: x, Y: float64(run.Latency.ValueAtPercentile(q)) / 1000})
		}
	} else {
		measured = summarySpectrum(run.Summary)
	}
	if err := addLine(p, "measured", measured, 0, false); err != nil { // legend names stay short
		return Chart{}, err
	}
	if predicted != nil {
		if err := addLine(p, "predicted", summarySpectrum(predicted), 1, true); err != nil {
			return Chart{}, err
		}
	}
	headroom(p)
	p.X.Max = math.Max(p.X.Max, 5) + 0.25 // room for the last tick's label
	svg, err := svgOf(p)
	return Chart{ID: "spectrum", Title: title, SVG: svg,
		Note: "x: percentile on a log scale of 1/(1-q); the measured curve is read from the run's HDR histogram"}, err
}

var spectrumQs = []float64{25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999}

func summarySpectrum(s *result.Summary) plotter.XYs {
	var out plotter.XYs
	if s.Requests.Total == 0 {
		return out
	}
	for _, q := range spectrumQs {
		if v, ok := s.LatencyMs.Quantile(q); ok {
			out = append(out, plotter.XY{X: -math.Log10(1 - q/100), Y: v})
		}
	}
	return out
}

type spectrumTicks struct{}

func (spectrumTicks) Ticks(min, max float64) []plot.Tick {
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"}
	var ts []plot.Tick
	for i, l := range labels {
		x := float64(i)
		if x >= min-1e-9 && x <= max+1e-9 {
			ts = append(ts, plot.Tick{Value: x, Label: l})
		}
	}
	return ts
}

// svgOf renders a plot as an inline <svg> element (no XML prolog).
func svgOf(p *plot.Plot) (template.HTML, error) {
	c := vgsvg.New(8*vg.Inch, 3.2*vg.Inch)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	out := b.String()
	if i := strings.Index(out, "<svg"); i >= 0 {
		out = out[i:]
	}
	return template.HTML(out), nil //nolint:gosec // produced by vgsvg from numbers and our own labels
}

type htmlData struct {
	S         *result.Summary
	Predicted *result.Summary
	Passed    bool
	Failed    int
	Figures   [][2]string
	Side      [][3]string
	Audit     string
	Gates     []gateRow
	Codes     string
	Charts    []Chart
	Steps     []NamedRow
	Journeys  []NamedRow
	SKUs      []SKURow
	HasFull   bool // the SKU table carries the full-scale sell-out moments
	Full      *fullData
	Faults    []string // FaultLine of each applied fault
}

// fullData is the full-scale simulation's section of the result.
type fullData struct {
	S       *result.Summary
	Figures [][2]string
	SKUs    []SKURow
	Charts  []Chart
}

type gateRow struct {
	Expr, Value, Verdict string
	Pass                 bool
}

// HTML writes one self-contained HTML file: the key figures, the gates, the audit and the SVG
// charts inline (no script, no external resource).
func HTML(w io.Writer, run *result.Run, predicted *result.Summary) error {
	charts, err := Charts(run, predicted)
	if err != nil {
		return err
	}
	s := run.Summary
	full := run.FullScale
	d := htmlData{S: s, Predicted: predicted, Figures: keyFigures(s), Audit: auditLine(&s.Audit),
		Codes: counts(s.Requests.ByCode), Charts: charts, Passed: true,
		Steps: NamedRows(s.Steps), Journeys: NamedRows(s.Journeys), SKUs: SKURows(s, full), HasFull: full != nil}
	if full != nil {
		fc, err := Charts(&result.Run{Summary: full}, nil)
		if err != nil {
			return err
		}
		for i := range fc {
			fc[i].ID = "full-" + fc[i].ID
		}
		d.Full = &fullData{S: full, Figures: keyFigures(full), SKUs: SKURows(full, nil), Charts: fc}
	}
	if predicted != nil {
		d.Side = sideBySide(s, predicted)
	}
	for _, f := range s.Faults {
		d.Faults = append(d.Faults, FaultLine(f))
	}
	for _, g := range s.Gates {
		d.Gates = append(d.Gates, gateRow{Expr: g.Expr, Value: GateValue(g), Verdict: Verdict(g.Pass), Pass: g.Pass})
		if !g.Pass {
			d.Passed = false
			d.Failed++
		}
	}
	return htmlTmpl.ExecuteTemplate(w, "page", d)
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{"map": tmplMap}).Parse(`{{define "chart"}}<figure class="chart" id="chart-{{.ID}}"><figcaption>{{.Title}}</figcaption>
{{.SVG}}
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}</figure>
{{end}}{{define "named"}}<table id="{{index . "id"}}"><tr><th>{{index . "kind"}}</th><th>count</th><th>ok</th><th>failed</th><th>failed %</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>
{{range index . "rows"}}<tr><th>{{.Name}}</th><td class="num">{{.Count}}</td><td class="num">{{.OK}}</td><td class="num">{{.Failed}}</td><td class="num">{{.Share}}</td><td class="num">{{.P50}}</td><td class="num">{{.P90}}</td><td class="num">{{.P99}}</td><td class="num">{{.Max}}</td></tr>
{{end}}</table>{{end}}{{define "skus"}}<table id="{{index . "id"}}"><tr><th>sku</th><th></th><th>stock</th><th>left</th><th>sold</th><th>paid</th><th>released</th><th>oversold</th><th>lost</th><th>sold out at</th>{{if index . "full"}}<th>simulated (full scale)</th><th>apart</th>{{end}}</tr>
{{$full := index . "full"}}{{range index . "rows"}}<tr><th>{{.SKU}}</th><td>{{.Kind}}</td><td class="num">{{.Stock}}</td><td class="num">{{.Left}}</td><td class="num">{{.Sold}}</td><td class="num">{{.Paid}}</td><td class="num">{{.Released}}</td><td class="num {{if .Oversold}}fail{{end}}">{{.Oversold}}</td><td class="num">{{.Lost}}</td><td class="num">{{.SoldOut}}</td>{{if $full}}<td class="num">{{.FullSoldOut}}</td><td class="num">{{.Apart}}</td>{{end}}</tr>
{{end}}</table>{{end}}`))

// tmplMap builds a map from key, value pairs, for passing several values to a template.
func tmplMap(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

var _ = template.Must(htmlTmpl.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>flashload: {{.S.Name}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:62em;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} .meta{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1em 0} td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f37;font-weight:600} .fail{color:#cf222e;font-weight:600}
figure{margin:1.5em 0} figcaption{font-weight:600;margin-bottom:.3em} figure svg{max-width:100%;height:auto}
.note{color:#666;font-size:.9em} ul.warn{color:#9a6700}
section.simulated{border-top:3px dashed #888;margin-top:2em} .tag{font-size:.6em;background:#eee;color:#555;padding:.1em .5em;border-radius:.3em;vertical-align:middle}
</style>
</head>
<body>
<h1>flashload: {{.S.Name}}</h1>
<p class="meta">{{.S.Mode}} run{{if .S.Strategy}} · strategy {{.S.Strategy}}{{end}}{{if .S.Target}} · target {{.S.Target}}{{end}} · seed {{.S.Seed}} · {{printf "%.1f" .S.DurationS}} s of run clock, {{printf "%.0f" .S.ScenarioTimeS}} s of scenario{{if .S.Partial}} · <strong>partial</strong>{{end}}</p>
{{if .Gates}}<h2>Gates: {{if .Passed}}<span class="pass">all passed</span>{{else}}<span class="fail">{{.Failed}} failed</span>{{end}}</h2>
<table id="gates"><tr><th></th><th>gate</th><th>measured</th></tr>
{{range .Gates}}<tr><td><span class="{{if .Pass}}pass{{else}}fail{{end}}">{{.Verdict}}</span></td><td><code>{{.Expr}}</code></td><td class="num">{{.Value}}</td></tr>
{{end}}</table>{{end}}
<h2>Figures</h2>
<table id="figures">{{range .Figures}}<tr><th>{{index . 0}}</th><td class="num">{{index . 1}}</td></tr>
{{end}}</table>
{{if .Side}}<table id="predicted"><tr><th>measured vs predicted</th><th>measured</th><th>predicted</th></tr>
{{range .Side}}<tr><th>{{index . 0}}</th><td class="num">{{index . 1}}</td><td class="num">{{index . 2}}</td></tr>
{{end}}</table>{{end}}
<p><strong>Audit:</strong> {{.Audit}}</p>
{{if .S.Audit.Violations}}<ul>{{range .S.Audit.Violations}}<li class="fail">{{.}}</li>{{end}}</ul>{{end}}
{{if .Codes}}<p><strong>Answers by code:</strong> {{.Codes}}</p>{{end}}
{{if .Faults}}<h2>Faults</h2><ul id="faults">{{range .Faults}}<li>{{.}}</li>{{end}}</ul><p class="note">scenario times; the charts below shade each fault's span</p>{{end}}
{{if .Steps}}<h2>By step</h2>{{template "named" (map "id" "steps" "kind" "step" "rows" .Steps)}}{{end}}
{{if .Journeys}}<h2>By journey</h2>{{template "named" (map "id" "journeys" "kind" "journey" "rows" .Journeys)}}{{end}}
{{if .SKUs}}<h2>Sale per SKU</h2>{{template "skus" (map "id" "skus" "full" .HasFull "rows" .SKUs)}}<p class="note">sold out at: scenario time{{if .HasFull}}; beside it the full-scale simulation's moment{{end}}</p>{{end}}
{{range .Charts}}{{template "chart" .}}{{end}}
{{with .Full}}<section id="fullscale" class="simulated"><h2>Full-scale simulation <span class="tag">simulated, not measured</span></h2>
<p class="meta">the simulator's model of the whole amplitude: {{printf "%.0f" .S.Rate.PeakTarget}}/s at the peak, {{printf "%.0f" .S.ScenarioTimeS}} s of scenario</p>
<table id="full-figures">{{range .Figures}}<tr><th>{{index . 0}}</th><td class="num">{{index . 1}}</td></tr>
{{end}}</table>
{{if .SKUs}}{{template "skus" (map "id" "full-skus" "full" false "rows" .SKUs)}}{{end}}
{{range .Charts}}{{template "chart" .}}{{end}}</section>{{end}}
{{if .S.Warnings}}<h2>Warnings</h2><ul class="warn">{{range .S.Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body>
</html>
`))
