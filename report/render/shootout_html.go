package render

import (
	"fmt"
	"html/template"
	"io"

	"github.com/flashload/flashload/result"
)

// ShootoutHTMLFile is the HTML page of a shoot-out, in the rehearsal's directory.
const ShootoutHTMLFile = "shootout.html"

// Shootout is a shoot-out as its HTML page shows it: the comparison of the strategies that ran
// and, when the scenario had faults, the faults played and the fault matrix (every strategy,
// the skipped ones as n/a).
type Shootout struct {
	Name   string
	Rows   []ShootoutRow  // the strategies that ran; Report links each one's report.html
	Faults []result.Fault // the faults as the first strategy's run applied them
	Matrix []FaultRow     // nil without faults
}

type shootoutHTMLRow struct {
	Strategy, Throughput, P99, ServiceP99, Verdict, Report string
	Sold, Oversold, Lost, Duplicates, Shed                 int64
	Pass                                                   bool
}

// ShootoutHTML writes the shoot-out page: one self-contained HTML file (no script).
func ShootoutHTML(w io.Writer, sh Shootout) error {
	d := struct {
		Name      string
		Rows      []shootoutHTMLRow
		Faults    []string
		Head      []string
		Matrix    [][]string
		HasFaults bool
	}{Name: sh.Name, Head: faultMatrixHead, HasFaults: len(sh.Matrix) > 0}
	for _, r := range sh.Rows {
		m := r.Live
		d.Rows = append(d.Rows, shootoutHTMLRow{Strategy: m.Strategy, Throughput: fmt.Sprintf("%.0f/s", m.Rate.AchievedAvg),
			P99: fmt.Sprintf("%.1f ms", m.LatencyMs.P99), ServiceP99: fmt.Sprintf("%.1f ms", m.ServiceTimeMs.P99),
			Sold: m.Audit.Sold, Oversold: m.Audit.Oversold, Lost: m.Audit.Lost, Duplicates: m.Audit.Duplicates,
			Shed: m.Requests.Shed, Verdict: Verdict(passed(m.Gates)), Pass: passed(m.Gates), Report: r.Report})
	}
	for _, f := range sh.Faults {
		d.Faults = append(d.Faults, FaultLine(f))
	}
	for _, r := range sh.Matrix {
		d.Matrix = append(d.Matrix, r.cells())
	}
	return shootoutTmpl.Execute(w, d)
}

var shootoutTmpl = template.Must(template.New("shootout").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>flashload shoot-out: {{.Name}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:62em;color:#222;padding:0 1em}
h1{font-size:1.5em} table{border-collapse:collapse;margin:1em 0} td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} .pass{color:#1a7f37;font-weight:600} .fail{color:#cf222e;font-weight:600}
.note{color:#666;font-size:.9em}
</style>
</head>
<body>
<h1>Architecture shoot-out: {{.Name}}</h1>
{{if .Rows}}<table id="shootout"><tr><th>strategy</th><th>throughput</th><th>p99</th><th>service p99</th><th>sold</th><th>oversold</th><th>lost</th><th>duplicates</th><th>shed</th><th>gates</th><th>report</th></tr>
{{range .Rows}}<tr><th>{{.Strategy}}</th><td class="num">{{.Throughput}}</td><td class="num">{{.P99}}</td><td class="num">{{.ServiceP99}}</td><td class="num">{{.Sold}}</td><td class="num{{if .Oversold}} fail{{end}}">{{.Oversold}}</td><td class="num{{if .Lost}} fail{{end}}">{{.Lost}}</td><td class="num{{if .Duplicates}} fail{{end}}">{{.Duplicates}}</td><td class="num">{{.Shed}}</td><td><span class="{{if .Pass}}pass{{else}}fail{{end}}">{{.Verdict}}</span></td><td><a href="{{.Report}}">{{.Report}}</a></td></tr>
{{end}}</table>{{end}}
{{if .HasFaults}}<h2>Fault matrix</h2>
{{if .Faults}}<ul id="faults">{{range .Faults}}<li>fault: {{.}}</li>{{end}}</ul>{{end}}
<table id="fault-matrix"><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Matrix}}<tr>{{range $i, $c := .}}{{if eq $i 0}}<th>{{$c}}</th>{{else}}<td class="num">{{$c}}</td>{{end}}{{end}}</tr>
{{end}}</table>
<p class="note">lost: acknowledged purchases missing from the store; unknown: outcomes the client could not know (a timeout or a 5xx after sending); n/a: the strategy lacks the store the fault needs and was not run.</p>{{end}}
</body>
</html>
`))
