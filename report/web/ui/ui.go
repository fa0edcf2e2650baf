// Package ui is flashload's one front-end: the script, styles and chart library shared by the
// live web page (report/web) and report.html (report/render). It is plain data embedded in the
// binary: uPlot (assets/uPlot.iife.min.js, MIT, its licence beside it) draws the charts, and
// assets/app.js builds the charts and panels from a run's data, either from a Summary embedded
// in the page (report.html) or from the server-sent events of a live run. Nothing is fetched at
// view time: every page carries its scripts and styles inline, and its Content-Security-Policy
// forbids any other origin.
//
// Data enters as Go values (Report, the wire types of report/web) and leaves as HTML fragments
// for a page template: Head (styles), Scripts, and Data (the page's JSON).
package ui

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"

	"github.com/flashload/flashload/result"
)

//go:embed assets/uPlot.iife.min.js assets/uPlot.min.css assets/uPlot.LICENSE assets/app.js assets/app.css
var assets embed.FS

// UPlotVersion is the version of the vendored chart library.
const UPlotVersion = "1.6.32"

// CSP is the pages' Content-Security-Policy: inline scripts and styles only, connections to the
// page's own origin only (the live event stream), images only from data: URLs. A page under it
// makes no request anywhere else, and report.html (a file) none at all.
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'"

func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic(err) // embedded at build time: a missing file does not build
	}
	return string(b)
}

// Head is the pages' styles: uPlot's and the app's, inline.
func Head() template.HTML {
	//nolint:gosec // our own embedded files
	return template.HTML("<style>" + asset("uPlot.min.css") + "</style>\n<style>" + asset("app.css") + "</style>")
}

// Scripts is the chart library and the app, inline; the app starts once the page has loaded.
// The library's licence travels with it as a comment.
func Scripts() template.HTML {
	//nolint:gosec // our own embedded files
	return template.HTML("<script>/*\nuPlot " + UPlotVersion + "\n" + asset("uPlot.LICENSE") + "*/\n" + asset("uPlot.iife.min.js") +
		"</script>\n<script>" + asset("app.js") + "</script>")
}

// Data is v as the page's data: JSON in a script element the app reads (id flashload-data).
// encoding/json escapes <, > and &, so no string in v can end the element.
func Data(v any) (template.HTML, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("page data: %w", err)
	}
	//nolint:gosec // JSON with <, > and & escaped
	return template.HTML(`<script type="application/json" id="flashload-data">` + string(b) + `</script>`), nil
}

// Report is what report.html's charts are drawn from: the run's summary, the simulator's
// prediction beside it, the full-scale simulation, and the latency spectra.
type Report struct {
	Mode      string          `json:"mode"` // "report"
	Summary   *result.Summary `json:"summary"`
	Predicted *result.Summary `json:"predicted,omitempty"`
	Full      *result.Summary `json:"full,omitempty"`
	Faults    []Fault         `json:"faults,omitempty"`
	Spectrum  Spectrum        `json:"spectrum"`
	// FullSpectrum is the full-scale simulation's, from its quantiles (nil without one).
	FullSpectrum *Spectrum `json:"full_spectrum,omitempty"`
	// ScaleNote says how far the live autoscaler's decisions are from the predicted ones.
	ScaleNote string `json:"scale_note,omitempty"`
	// SpreadNote says how evenly the load spread over the replicas (the answers-per-replica
	// chart's note); "" with fewer than two replicas.
	SpreadNote string `json:"spread_note,omitempty"`
}

// Spectrum is latency against percentile, x = -log10(1-q): 0 is the 0th percentile, 1 the
// 90th, 2 the 99th, and so on. Measured is read from the run's histogram when there is one
// (every 0.05 of x up to 5), else from the summary's quantiles; Predicted from the prediction's.
type Spectrum struct {
	Measured  [][2]float64 `json:"measured"`
	Predicted [][2]float64 `json:"predicted,omitempty"`
}

// Fault is a fault as the charts shade it: its span in scenario seconds and its line of text.
type Fault struct {
	Kind   string  `json:"kind"`
	Detail string  `json:"detail,omitempty"`
	From   float64 `json:"from"`
	To     float64 `json:"to"`
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	Line   string  `json:"line"`
}

// Faults are fs as the charts shade them; line says each in words (FaultLine of the text
// outputs, so the page and the terminal agree).
func Faults(fs []result.Fault, line func(result.Fault) string) []Fault {
	out := make([]Fault, 0, len(fs))
	for _, f := range fs {
		from, to := f.Span()
		out = append(out, Fault{Kind: f.Kind, Detail: f.Detail, From: finite(from), To: finite(to), OK: f.OK, Error: f.Error, Line: line(f)})
	}
	return out
}

// spectrumQs are the summary quantiles a spectrum without a histogram is drawn through.
var spectrumQs = []float64{25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999}

// SummarySpectrum is a spectrum through s's quantiles alone (a run without histograms).
func SummarySpectrum(s *result.Summary) *Spectrum {
	return &Spectrum{Measured: summarySpectrum(s)}
}

// NewSpectrum reads the spectra: from run's latency histogram (when it has answers) and from the
// prediction's quantiles.
func NewSpectrum(run *result.Run, predicted *result.Summary) Spectrum {
	var sp Spectrum
	if run.Latency != nil && run.Latency.TotalCount() > 0 {
		for i := 0; i <= 100; i++ {
			x := float64(i) * 0.05
			q := 100 * (1 - math.Pow(10, -x))
			sp.Measured = append(sp.Measured, [2]float64{x, float64(run.Latency.ValueAtPercentile(q)) / 1000})
		}
	} else {
		sp.Measured = summarySpectrum(run.Summary)
	}
	if predicted != nil {
		sp.Predicted = summarySpectrum(predicted)
	}
	return sp
}

func summarySpectrum(s *result.Summary) [][2]float64 {
	out := [][2]float64{}
	if s == nil || s.Requests.Total == 0 {
		return out
	}
	for _, q := range spectrumQs {
		if v, ok := s.LatencyMs.Quantile(q); ok {
			out = append(out, [2]float64{-math.Log10(1 - q/100), finite(v)})
		}
	}
	return out
}

// finite keeps JSON encodable: NaN and infinities become 0.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
