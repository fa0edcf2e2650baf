package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/traffic"
)

const planStages = `
name: plan-traffic
seed: 5
duration: 120s
traffic:
  arrivals: uniform
  start_rps: 500
  stages: [{duration: 40s, rps: 2500}, {duration: 40s, rps: 2500}, {duration: 40s, rps: 800}]
journeys: [{name: reader, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model:
  replicas: 12
  workers_per_replica: 4
  service_time: {dist: deterministic, mean: 10ms}
  autoscaler: {type: fixed}
gates: ["p(99) < 100ms"]
`

// The same curve as stages and as a replay curve: plan gives the same answer, sim the same run.
func TestPlanAndSimWithTraffic(t *testing.T) {
	stages := writeScenario(t, planStages)
	// Another scenario's traffic (a constant 10/s for 5 s) is replaced by the curve.
	other := writeScenario(t, strings.Replace(strings.Replace(planStages, "duration: 120s", "duration: 5s", 1),
		"stages: [{duration: 40s, rps: 2500}, {duration: 40s, rps: 2500}, {duration: 40s, rps: 800}]", "stages: [{duration: 5s, rps: 10}]", 1))
	curve := filepath.Join(t.TempDir(), "curve.csv")
	if err := os.WriteFile(curve, []byte("# start 2024-11-11T00:00:00Z step 40s\nt,rps\n0,500\n40,2500\n80,2500\n120,800\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	elapsed := regexp.MustCompile(`in [0-9.]+m?s`)
	plan := func(arg, curve string) string {
		var out, errs bytes.Buffer
		err := planRun(context.Background(), &planOptions{Out: &out, Err: &errs, Mode: "request", MaxReplicas: 64, Traffic: curve}, arg)
		if err != nil {
			t.Fatalf("plan %s --traffic %q: %v\n%s", arg, curve, err, errs.String())
		}
		return elapsed.ReplaceAllString(out.String(), "")
	}
	want, got := plan(stages, ""), plan(other, curve)
	if !strings.Contains(want, "replicas  7") || want != got {
		t.Fatalf("stages:\n%s\nreplay:\n%s", want, got)
	}
	total := func(arg, curve string) int64 {
		dir := t.TempDir()
		var out, errs bytes.Buffer
		if err := simRun(context.Background(), &simOptions{Out: &out, Err: &errs, Dir: dir, NoTUI: true, Mode: "request", Traffic: curve}, arg); err != nil {
			t.Fatalf("sim: %v\n%s", err, errs.String())
		}
		run, err := result.ReadRun(dir)
		if err != nil {
			t.Fatal(err)
		}
		return run.Summary.Requests.Total
	}
	if a, b := total(stages, ""), total(other, curve); a != b || a != 226000 {
		t.Fatalf("sim: %d requests from stages, %d from the curve (want 226000)", a, b)
	}
	var out, errs bytes.Buffer
	err := planRun(context.Background(), &planOptions{Out: &out, Err: &errs, Traffic: filepath.Join(t.TempDir(), "none.csv")}, stages)
	if code := exitCode(err, &errs); code != exitUsage {
		t.Fatalf("a missing curve: exit %d (%v)", code, err)
	}
}

func TestTrafficImportCLI(t *testing.T) {
	dir := t.TempDir()
	curve := filepath.Join(dir, "curve.csv")
	var out, errs bytes.Buffer
	err := trafficImportRun(context.Background(), &trafficImportOptions{Out: &out, Err: &errs, File: curve, Mix: true, Top: 3,
		History: historyFlags{Format: "nginx"}, MaxRoutes: 100}, []string{"../../traffic/testdata/nginx.log"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(curve)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# start 2024-11-10T16:00:00Z step 1m from nginx.log\nt,rps\n0,0.0666667\n60,0.0333333\n120,0.0166667\n") {
		t.Fatalf("curve:\n%s", data)
	}
	for _, want := range []string{"nginx.log:5: no [day/Mon/year", "nginx.log:8: bad time", "out of order: 1 records; the first: ../../traffic/testdata/nginx.log:7",
		"GET      /v1/skus/phone-x", "(2 more routes)", "(no readable request line)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Nothing parses: exit 2 with the samples.
	junk := filepath.Join(dir, "junk.log")
	os.WriteFile(junk, []byte("nothing\nhere\n"), 0o644)
	err = trafficImportRun(context.Background(), &trafficImportOptions{Out: &out, Err: &errs, History: historyFlags{Format: "nginx"}}, []string{junk})
	if code := exitCode(err, &errs); code != exitUsage || !strings.Contains(err.Error(), "junk.log:2") {
		t.Fatalf("junk: exit %d: %v", code, err)
	}
	// A pipe stays a pipe: --out writes into it, never renames over it.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	if err := trafficImportRun(context.Background(), &trafficImportOptions{Out: &out, Err: &errs, File: fifo}, []string{"../../traffic/testdata/nginx.log"}); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.HasPrefix(b, []byte("# start")) {
		t.Fatalf("fifo got %q", b)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("fifo is now %v (%v)", fi.Mode(), err)
	}
}

func TestTrafficForecastCLI(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "hist.csv")
	s := traffic.Synthetic{Start: time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC), Mean: 100, Daily: 0.5, Noise: 0.05}
	var buf bytes.Buffer
	if err := traffic.WriteCurve(&buf, s.Series(time.Hour, 21*24*time.Hour, 1), ""); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(hist, buf.Bytes(), 0o644)
	out := filepath.Join(dir, "fc")
	var o, e bytes.Buffer
	opts := &trafficForecastOptions{Out: &o, Err: &e, Horizon: "7d", Quantiles: "0.5,0.9", Growth: 1.3, Dir: out, TrendWindow: "14d"}
	if err := trafficForecastRun(context.Background(), opts, hist); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"p50.csv", "p90.csv"} {
		sc, err := loadWithTraffic(writeScenario(t, planStages), filepath.Join(out, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if sc.Duration.D().Hours() != 7*24-1 || len(sc.ReplayPoints) != 168 {
			t.Fatalf("%s: %v, %d points", f, sc.Duration.D(), len(sc.ReplayPoints))
		}
	}
	opts.Horizon = "11d"
	err := trafficForecastRun(context.Background(), opts, hist)
	if code := exitCode(err, &e); code != exitUsage || !strings.Contains(err.Error(), "at most half of it") {
		t.Fatalf("horizon 11d on 21d: exit %d: %v", code, err)
	}
	o.Reset()
	opts.Horizon, opts.Backtest, opts.JSON = "7d", "7d", true
	if err := trafficForecastRun(context.Background(), opts, hist); err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(o.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"wape", "seasonal_naive_wape", "coverage", "points"} {
		if _, ok := res[k]; !ok {
			t.Errorf("backtest JSON lacks %q: %s", k, o.String())
		}
	}
	if res["points"].(float64) != 168 {
		t.Errorf("points %v", res["points"])
	}
}
