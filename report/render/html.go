package render

import (
	"html/template"
	"io"

	"github.com/flashload/flashload/report/web/ui"
	"github.com/flashload/flashload/result"
)

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
	Steps     []NamedRow
	Journeys  []NamedRow
	SKUs      []SKURow
	HasFull   bool // the SKU table carries the full-scale sell-out moments
	Full      *fullData
	Faults    []string      // FaultLine of each applied fault
	Head      template.HTML // the front-end's styles
	Scripts   template.HTML // the chart library and the front-end's script
	Data      template.HTML // the charts' data (ui.Report as JSON)
	CSP       string
}

// fullData is the full-scale simulation's section of the result.
type fullData struct {
	S       *result.Summary
	Figures [][2]string
	SKUs    []SKURow
}

type gateRow struct {
	Expr, Value, Verdict string
	Pass                 bool
}

// HTML writes one self-contained HTML file: the key figures, the gates, the audit and the
// tables, and the charts, drawn in the browser by the front-end the live page uses (report/web/ui:
// uPlot and its script, inline) from the run's data embedded in the page. It needs no network.
func HTML(w io.Writer, run *result.Run, predicted *result.Summary) error {
	s := run.Summary
	full := run.FullScale
	data := ui.Report{Mode: "report", Summary: s, Predicted: predicted, Full: full,
		Faults: ui.Faults(s.Faults, FaultLine), Spectrum: ui.NewSpectrum(run, predicted)}
	if full != nil {
		data.FullSpectrum = ui.SummarySpectrum(full)
	}
	if len(s.Scale) > 0 && predicted != nil && len(predicted.Scale) > 0 {
		data.ScaleNote = ScaleDiffText(result.CompareScale(s.Scale, predicted.Scale))
	}
	if len(s.Requests.ByReplica) > 1 {
		data.SpreadNote = SpreadLine(s)
	}
	js, err := ui.Data(data)
	if err != nil {
		return err
	}
	d := htmlData{S: s, Predicted: predicted, Figures: keyFigures(s), Audit: AuditLine(&s.Audit),
		Codes: counts(s.Requests.ByCode), Passed: true, Head: ui.Head(), Scripts: ui.Scripts(), Data: js, CSP: ui.CSP,
		Steps: NamedRows(s.Steps), Journeys: NamedRows(s.Journeys), SKUs: SKURows(s, full), HasFull: full != nil}
	if full != nil {
		d.Full = &fullData{S: full, Figures: keyFigures(full), SKUs: SKURows(full, nil)}
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

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{"map": tmplMap}).Parse(`{{define "named"}}<table id="{{index . "id"}}"><tr><th>{{index . "kind"}}</th><th>count</th><th>ok</th><th>failed</th><th>failed %</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>
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
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
{{.Head}}
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
<h2>Charts</h2>
<p class="note">hover for the values at a time; drag across a chart to zoom in, double-click to zoom out; click a legend entry to hide or show its line</p>
<div id="charts"></div>
<noscript><p class="note">the charts need JavaScript</p></noscript>
{{with .Full}}<section id="fullscale" class="simulated"><h2>Full-scale simulation <span class="tag">simulated, not measured</span></h2>
<p class="meta">the simulator's model of the whole amplitude: {{printf "%.0f" .S.Rate.PeakTarget}}/s at the peak, {{printf "%.0f" .S.ScenarioTimeS}} s of scenario</p>
<table id="full-figures">{{range .Figures}}<tr><th>{{index . 0}}</th><td class="num">{{index . 1}}</td></tr>
{{end}}</table>
{{if .SKUs}}{{template "skus" (map "id" "full-skus" "full" false "rows" .SKUs)}}{{end}}
<div id="full-charts"></div></section>{{end}}
{{if .S.Warnings}}<h2>Warnings</h2><ul class="warn">{{range .S.Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{.Data}}
{{.Scripts}}
</body>
</html>
`))
