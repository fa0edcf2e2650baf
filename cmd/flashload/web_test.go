package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/browser"
	"github.com/flashload/flashload/report/web"
	"github.com/flashload/flashload/result"
)

var screenshots = flag.String("screenshots", "", "write the live page's screenshots (web-live.png, web-result.png) into this directory (docs/)")

const webScenario = `name: web-page
skus: [{sku: cup, stock: 600, price: 5, limit_per_user: 1}]
traffic: {arrivals: uniform, start_rps: 100, stages: [{duration: 4s, rps: 400}, {duration: 6s, rps: 400}]}
journeys:
  - name: buyer
    steps: [{view: {sku: cup}}, {purchase: {sku: cup}}, {pay: {probability: 1}}]
gates: ["oversold == 0", "p(99) < 10s", "rate(pay_success) > 99%", "achieved_rate >= 200%% of target"]
`

// TestRunWebPage plays a short run against the in-process target with --web and watches it in
// Chromium: the figures change between two reads, the charts fill, the gates are evaluated as
// the run goes; at the end the page shows the result, its gates panel matches summary.json
// (one gate fails on purpose), and it has kept report.html.
func TestRunWebPage(t *testing.T) {
	base, token := startRunTarget(t, "memory")
	dir := t.TempDir()
	path := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(webScenario, "%%", "%")), 0o644); err != nil {
		t.Fatal(err)
	}
	ready := make(chan *web.Server, 1)
	var stdout, stderr strings.Builder
	o := &runOptions{Scenario: path, Target: base, AdminToken: token, Out: filepath.Join(dir, "run"), NoTUI: true,
		Stdout: &stdout, Stderr: &stderr, Web: webFlags{Addr: "127.0.0.1:0", Ready: func(s *web.Server) { ready <- s }}}
	br := browser.Start(t)
	done := make(chan error, 1)
	go func() { done <- runLive(context.Background(), o) }()
	var srv *web.Server
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("run ended before serving the page: %v\n%s", err, stderr.String())
	}
	p := br.Open(t, srv.URL())
	p.WaitFor(t, `window.flashload && flashload.ready && flashload.charts.rate`, 20*time.Second)
	read := func() (string, int) {
		var v struct {
			Requests string
			Points   int
		}
		p.Eval(t, `({Requests: document.querySelector('[data-name="requests"] .value').textContent, Points: flashload.charts.rate.data[0].length})`, &v)
		return v.Requests, v.Points
	}
	r1, n1 := read()
	time.Sleep(1500 * time.Millisecond)
	r2, n2 := read()
	if r1 == r2 || n2 <= n1 {
		t.Errorf("the page did not change in 1.5 s: requests %s then %s, %d then %d windows", r1, r2, n1, n2)
	}
	// The gates on the run so far: oversold == 0 passes only on the target's stock readings,
	// which reach them through the sealed windows (else: not checked).
	// The first sealed window reaches the page a second or so into the run: wait for it.
	p.WaitFor(t, `(function () { var tr = document.querySelector("#gates tr[data-pass]"); return tr && tr.textContent.indexOf("PASSoversold == 0") === 0; })()`, 15*time.Second)
	var gatesLive []string
	p.Eval(t, `Array.from(document.querySelectorAll("#gates tr[data-pass]")).map(function (tr) { return tr.textContent; })`, &gatesLive)
	if len(gatesLive) != 4 || !strings.HasPrefix(gatesLive[0], "PASSoversold == 0") {
		t.Errorf("gates on the page while the run goes: %q", gatesLive)
	}
	if *screenshots != "" {
		p.WaitFor(t, "flashload.charts.rate.data[0].length >= 5", 10*time.Second)
		p.Screenshot(t, filepath.Join(*screenshots, "web-live.png"))
	}

	err := <-done
	if code := exitCode(err, &stderr); code != exitGate {
		t.Fatalf("exit %d (%v), want 3: the 200%% gate fails\n%s", code, err, stderr.String())
	}
	p.WaitFor(t, `!document.getElementById("result").hidden && document.getElementById("report-link").getAttribute("data-kept") === "true"`, 10*time.Second)
	sum, err := result.ReadSummary(filepath.Join(dir, "run", result.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Expr string
		Pass string
	}
	p.Eval(t, `Array.from(document.querySelectorAll("#gates tr[data-pass]")).map(function (tr) {
		return {Expr: tr.cells[1].textContent, Pass: tr.getAttribute("data-pass")}; })`, &rows)
	if len(rows) != len(sum.Gates) {
		t.Fatalf("the page shows %d gates, summary.json has %d", len(rows), len(sum.Gates))
	}
	for i, g := range sum.Gates {
		if rows[i].Expr != g.Expr || rows[i].Pass != map[bool]string{true: "true", false: "false"}[g.Pass] {
			t.Errorf("gate %d: page %+v, summary.json %s pass=%v", i, rows[i], g.Expr, g.Pass)
		}
	}
	var windows int
	p.Eval(t, "flashload.charts.rate.data[0].length", &windows)
	if windows != len(sum.Timeline) {
		t.Errorf("the final charts draw %d windows, summary.json has %d", windows, len(sum.Timeline))
	}
	var state string
	p.Eval(t, "flashload.state", &state)
	if !strings.HasPrefix(state, "done") {
		t.Errorf("page state %q at the end", state)
	}
	var jsErrs []string
	p.Eval(t, "flashload.errors", &jsErrs)
	if errs := append(p.Errors(), jsErrs...); len(errs) > 0 {
		t.Errorf("page errors: %q", errs)
	}
	for _, u := range p.Requests() {
		if !strings.HasPrefix(u, srv.URL()) && !strings.HasPrefix(u, "blob:") {
			t.Errorf("the page requested %s", u)
		}
	}
	if *screenshots != "" {
		p.Eval(t, `window.scrollTo(0, 0)`, nil)
		p.Screenshot(t, filepath.Join(*screenshots, "web-result.png"))
	}
}
