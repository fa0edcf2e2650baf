package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/browser"
	"github.com/flashload/flashload/result"
)

var docsShots = flag.String("screenshots", "", "write the report's screenshot (report.png) into this directory (docs/)")

// assetRE matches the front-end's inline assets (the chart library, the script, the styles),
// which the golden file leaves out: it holds what this package writes, not uPlot's source.
var assetRE = regexp.MustCompile(`(?s)<style>.*?</style>|<script>.*?</script>`)

// TestHTMLGolden: report.html as this package writes it (tables, figures, the embedded data the
// charts are drawn from), with the front-end's inline assets elided.
func TestHTMLGolden(t *testing.T) {
	run := faultFixture()
	var b bytes.Buffer
	if err := HTML(&b, run, fixture("sim", 0.8).Summary); err != nil {
		t.Fatal(err)
	}
	page := b.Bytes()
	if n := len(assetRE.FindAll(page, -1)); n != 4 {
		t.Fatalf("%d inline assets, want 4 (2 styles, 2 scripts)", n)
	}
	for _, bad := range []string{` src=`, `href="http`, `url(http`, `@import`} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("report.html refers outside itself: %q", bad)
		}
	}
	golden(t, "report.html", assetRE.ReplaceAll(page, []byte("<!-- asset -->")))
}

// report renders run into a temporary report.html and opens it in Chromium, waiting for the
// front-end to finish drawing.
func openReport(t *testing.T, br *browser.Browser, run *result.Run, predicted *result.Run) (*browser.Page, string) {
	t.Helper()
	dir := t.TempDir()
	if predicted != nil {
		run.Predicted = predicted.Summary
	}
	if err := WriteAll(dir, run); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, HTMLFile)
	p := br.Open(t, "file://"+path)
	p.WaitFor(t, "window.flashload && flashload.ready", 30*time.Second)
	return p, dir
}

// noErrorsNoRequests fails the test on any console error or exception, and on any request but
// the page's own.
func noErrorsNoRequests(t *testing.T, p *browser.Page) {
	t.Helper()
	var jsErrs []string
	p.Eval(t, "flashload.errors", &jsErrs)
	if errs := append(p.Errors(), jsErrs...); len(errs) > 0 {
		t.Errorf("page errors: %q", errs)
	}
	for _, u := range p.Requests() {
		if u != p.URL {
			t.Errorf("the report requested %s", u)
		}
	}
}

type chartInfo struct {
	ID     string
	Series []string
	Points int
	Canvas float64 // width of the drawn canvas
	Shades []struct {
		Kind    string
		X0, X1  float64
		Instant bool
	}
}

const chartsJS = `Object.keys(flashload.charts).map(function (id) {
  var u = flashload.charts[id];
  return {ID: id, Series: u.series.slice(1).map(function (s) { return s.label; }), Points: u.data[0].length,
    Canvas: u.root.querySelector("canvas").getBoundingClientRect().width, Shades: u.flShades || []};
})`

func charts(t *testing.T, p *browser.Page) map[string]chartInfo {
	t.Helper()
	var list []chartInfo
	p.Eval(t, chartsJS, &list)
	out := map[string]chartInfo{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// TestWriteAllAndHTMLInChromium: report.html renders every chart in Chromium, with no console
// error and no request; the time charts shade the run's faults on one scale; hover shows the
// values and the fault at the cursor, a drag zooms in, a legend click hides a line.
func TestWriteAllAndHTMLInChromium(t *testing.T) {
	br := browser.Start(t)
	run := faultFixture()
	run.FullScale = fixture("sim", 0.7).Summary
	p, dir := openReport(t, br, run, fixture("sim", 0.8))
	for _, f := range []string{result.SummaryFile, result.HistogramsFile, result.PredictedFile, result.FullScaleFile, HTMLFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	back, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Predicted == nil || back.FullScale == nil || back.Latency.TotalCount() != run.Summary.Requests.Total {
		t.Fatalf("read back: predicted %v, %d latencies", back.Predicted != nil, back.Latency.TotalCount())
	}
	noErrorsNoRequests(t, p)

	got := charts(t, p)
	want := []string{"rate", "latency", "errors", "stock-phone-x", "stock-catalogue", "replicas", "spectrum",
		"full-rate", "full-latency", "full-stock-phone-x", "full-spectrum"}
	for _, id := range want {
		c, ok := got[id]
		if !ok {
			t.Errorf("chart %s missing (have %v)", id, keys(got))
			continue
		}
		if c.Points == 0 || c.Canvas < 300 || len(c.Series) == 0 {
			t.Errorf("chart %s: %d points, canvas %.0f px, series %v", id, c.Points, c.Canvas, c.Series)
		}
		measured := !strings.HasPrefix(id, "full-") && id != "spectrum"
		if !measured {
			if len(c.Shades) != 0 {
				t.Errorf("chart %s shades %d faults", id, len(c.Shades))
			}
			continue
		}
		if len(c.Shades) != 2 {
			t.Errorf("chart %s: %d fault shades, want 2", id, len(c.Shades))
			continue
		}
		// The axis runs from 0 to 19 min: the failover at 5 min is an instant (a line); the
		// latency fault spans 10 to 15 min, as wide as 5 to 10 min is on the same axis.
		a, b := c.Shades[0], c.Shades[1]
		if !a.Instant || b.Instant || a.Kind != "redis:failover" || b.Kind != "network:store" {
			t.Errorf("chart %s: shades %+v", id, c.Shades)
		}
		if ratio := (b.X0 - a.X0) / (b.X1 - b.X0); math.Abs(ratio-1) > 0.05 {
			t.Errorf("chart %s: 5 to 10 min is %.1f px, 10 to 15 min %.1f px: not one scale", id, b.X0-a.X0, b.X1-b.X0)
		}
	}
	if s := got["rate"].Series; !slices.Equal(s, []string{"target", "achieved", "predicted"}) {
		t.Errorf("rate series %v", s)
	}

	// Hover: the cursor at 13 min of the rate chart shows every series' value there and the
	// latency fault in effect.
	over := p.Box(t, "#chart-rate .u-over")
	var x float64
	p.Eval(t, `flashload.charts.rate.valToPos(780, "x")`, &x)
	p.Mouse(t, "move", over.X+x, over.Y+over.H/2)
	p.WaitFor(t, `document.querySelector("#chart-rate .faultnote").textContent.indexOf("network:store") >= 0`, 5*time.Second)
	var values []string
	p.Eval(t, `Array.from(document.querySelectorAll("#chart-rate .u-legend .u-value")).map(function (e) { return e.textContent; })`, &values)
	if len(values) != 4 || values[0] != "0:13:00" || values[1] == "–" || values[2] == "–" {
		t.Errorf("legend at the cursor: %q", values)
	}
	// Zoom: a drag from 2 to 8 min shows that span alone.
	var x0, x1 float64
	p.Eval(t, `flashload.charts.rate.valToPos(120, "x")`, &x0)
	p.Eval(t, `flashload.charts.rate.valToPos(480, "x")`, &x1)
	p.Mouse(t, "down", over.X+x0, over.Y+20)
	p.Mouse(t, "move", over.X+(x0+x1)/2, over.Y+20)
	p.Mouse(t, "move", over.X+x1, over.Y+20)
	p.Mouse(t, "up", over.X+x1, over.Y+20)
	var span []float64
	p.Eval(t, `[flashload.charts.rate.scales.x.min, flashload.charts.rate.scales.x.max]`, &span)
	if len(span) != 2 || math.Abs(span[0]-120) > 15 || math.Abs(span[1]-480) > 15 {
		t.Errorf("after a drag from 2 to 8 min the x axis shows %v s", span)
	}
	// Series toggle: a click on the legend's "target" hides that line.
	label := p.Box(t, "#chart-rate .u-legend .u-series:nth-child(2) .u-label")
	p.Mouse(t, "down", label.X+label.W/2, label.Y+label.H/2)
	p.Mouse(t, "up", label.X+label.W/2, label.Y+label.H/2)
	var shown bool
	p.Eval(t, `flashload.charts.rate.series[1].show`, &shown)
	if shown {
		t.Error("a click on the legend did not hide the target line")
	}

	var dom string
	p.Eval(t, `document.documentElement.outerHTML`, &dom)
	for _, want := range []string{`id="faults"`, "network:store (latency 200ms, for 5m) at 600.0s, applied 600.0s, ended 900.0s: ok", `id="steps"`, `id="journeys"`, `id="skus"`, `id="fullscale"`, "simulated, not measured", `id="gates"`, "error_rate &lt; 0.1%"} {
		if !strings.Contains(dom, want) {
			t.Errorf("%s missing from the rendered DOM", want)
		}
	}
	if *docsShots != "" {
		p.Eval(t, `window.scrollTo(0, 0)`, nil)
		p.Screenshot(t, filepath.Join(*docsShots, "report.png"))
	}
}

func keys(m map[string]chartInfo) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestHTMLChartsLeaveOutZeros: a chart whose series are all zero is left out, and a zero series
// beside a real one is dropped (a live run's replicas when the target reports none); the scale
// chart draws the live decisions beside the prediction, with how far apart they are.
func TestHTMLChartsLeaveOutZeros(t *testing.T) {
	br := browser.Start(t)
	run := fixture("live", 1)
	for i := range run.Summary.Timeline {
		run.Summary.Timeline[i].Replicas = 0
		run.Summary.Timeline[i].Errors, run.Summary.Timeline[i].Shed, run.Summary.Timeline[i].Dropped = 0, 0, 0
	}
	run.Summary.Replicas = result.Replicas{}
	p, _ := openReport(t, br, run, nil)
	noErrorsNoRequests(t, p)
	got := charts(t, p)
	for _, id := range []string{"replicas", "errors", "scale"} {
		if _, ok := got[id]; ok {
			t.Errorf("chart %s of zeros is drawn", id)
		}
	}

	run, pred := scaledFixture(t)
	for i := range run.Summary.Timeline {
		run.Summary.Timeline[i].Replicas = 0
	}
	p, _ = openReport(t, br, run, &result.Run{Summary: pred})
	noErrorsNoRequests(t, p)
	got = charts(t, p)
	if s := got["replicas"].Series; !slices.Equal(s, []string{"predicted"}) {
		t.Errorf("replicas chart series %v: the live zeros are drawn beside the prediction", s)
	}
	if s := got["scale"].Series; !slices.Equal(s, []string{"live", "predicted"}) {
		t.Errorf("scale chart series %v", s)
	}
	var note string
	p.Eval(t, `document.querySelector("#chart-scale").textContent`, &note)
	if !strings.Contains(note, "all 9 decisions within one replica and one period") {
		t.Errorf("scale chart says %q", note)
	}
}

// TestHTMLDayOfSeconds: a 24-hour timeline of one-second windows (86,400 points per series)
// loads and draws in Chromium within seconds, and hover still answers.
func TestHTMLDayOfSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an 86,400-window report")
	}
	br := browser.Start(t)
	run := fixture("live", 1)
	s := run.Summary
	const n = 86400
	tl := make([]result.TimelinePoint, n)
	for i := range tl {
		x := float64(i)
		tl[i] = result.TimelinePoint{T: x, Wall: x, TargetRPS: 1000 + 500*math.Sin(x/3600), AchievedRPS: 990 + 500*math.Sin(x/3600),
			Requests: 1000, P50Ms: 2 + math.Sin(x/600), P99Ms: 20 + 5*math.Sin(x/900), Errors: int64(i % 7), Replicas: 2 + i/20000,
			StockLeft: int64(n - i), SKULeft: map[string]int64{"phone-x": int64(max(0, 40000-i)), "catalogue": int64(100000 - i/2)}}
	}
	s.Timeline, s.ScenarioTimeS, s.DurationS = tl, n, n
	start := time.Now()
	p, dir := openReport(t, br, run, nil)
	load := time.Since(start)
	noErrorsNoRequests(t, p)
	got := charts(t, p)
	if c := got["rate"]; c.Points != n {
		t.Fatalf("rate chart holds %d points, want %d", c.Points, n)
	}
	info, _ := os.Stat(filepath.Join(dir, HTMLFile))
	over := p.Box(t, "#chart-latency .u-over")
	hover := time.Now()
	p.Mouse(t, "move", over.X+over.W/3, over.Y+over.H/2)
	p.WaitFor(t, `document.querySelectorAll("#chart-latency .u-legend .u-value")[1].textContent !== "–"`, 5*time.Second)
	t.Logf("report.html of %d windows: %.1f MB, written and drawn in %s, hover answered in %s",
		n, float64(info.Size())/1e6, load.Round(time.Millisecond), time.Since(hover).Round(time.Millisecond))
	// Generous for a shared 2-core machine: the point is seconds, not a frozen tab. A fresh
	// machine running the whole suite under the race detector took 31.2 s (4.7 s when quiet).
	if load > 60*time.Second {
		t.Errorf("a day of seconds took %s to load", load)
	}
}

// TestHTMLDataIsTheSummary: the data the charts are drawn from is the summary itself.
func TestHTMLDataIsTheSummary(t *testing.T) {
	run := fixture("live", 1)
	var b bytes.Buffer
	if err := HTML(&b, run, nil); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="flashload-data">(.*?)</script>`).FindSubmatch(b.Bytes())
	if m == nil {
		t.Fatal("no data element")
	}
	var d struct {
		Mode    string
		Summary result.Summary
	}
	if err := json.Unmarshal(m[1], &d); err != nil {
		t.Fatal(err)
	}
	if d.Mode != "report" || len(d.Summary.Timeline) != len(run.Summary.Timeline) || d.Summary.Requests.Total != run.Summary.Requests.Total {
		t.Errorf("data: mode %q, %d windows, requests %+v", d.Mode, len(d.Summary.Timeline), d.Summary.Requests)
	}
	// A name that would end the script element stays inside it.
	run.Summary.Name = `</script><script>alert(1)</script>`
	b.Reset()
	if err := HTML(&b, run, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>alert") {
		t.Error("the summary's name ends the data element")
	}
}
