package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// The autoscaling goal (issue 16): replicas of `serve --workers 4 --work exp:20ms` (200/s each,
// the HPA aiming at 70%: 140/s), a ramp 200 → 800 → 200/s that needs 2 → 6 of them.
const (
	asWorkers = 4
	asMean    = 20 * time.Millisecond
	asMin     = 2
	asMax     = 6
)

const asScenario = `name: fidelity-autoscale
seed: 7
duration: 17m
compress: %g
skus: [{sku: bar-sku, stock: 100000000, price: 100}]
traffic:
  start_rps: 200
  stages:
    - {duration: 2m, rps: 200}
    - {duration: 2m, rps: 800}
    - {duration: 4m, rps: 800}
    - {duration: 1m, rps: 200}
    - {duration: 8m, rps: 200}
journeys: [{name: viewer, steps: [{view: {sku: bar-sku}}]}]
model:
  mode: request
  replicas: %d
  workers_per_replica: %d
  service_time: {dist: exponential, mean: %s}
  autoscaler: {type: hpa, target_utilization: 0.7, min: %d, max: %d, startup: 30s}
gates: ["error_rate < 1%%"]
`

// autoscale rehearses the ramp on a live fleet scaled from MIN to MAX (rehearse --replicas
// MIN..MAX, Redis started by rehearse) and compares the live replica trace with the
// simulator's at every HPA decision: the prediction from the model as written, and the one
// rehearse calibrated from the live run (sim-played).
// With reuse, a rehearsal already in dir is compared again rather than played.
func autoscale(bin, dir string, compress float64, reuse bool) {
	path := filepath.Join(dir, "autoscale.yaml")
	check(os.WriteFile(path, []byte(fmt.Sprintf(asScenario, compress, asMin, asWorkers, asMean, asMin, asMax)), 0o644))
	out := filepath.Join(dir, "autoscale")
	fmt.Printf("autoscaling: rehearse --replicas %d..%d --workers %d --work exp:%s, ramp 200 → 800 → 200/s over 17 scenario minutes, compressed %g× (%s); run in %s\n",
		asMin, asMax, asWorkers, asMean, compress, time.Duration(17*float64(time.Minute)/compress).Round(time.Second), out)
	if _, err := os.Stat(filepath.Join(out, result.SummaryFile)); err != nil || !reuse {
		rehearseRamp(bin, path, out)
	}
	live, err := result.ReadRun(out)
	check(err)
	calibrated, err := result.ReadRun(filepath.Join(out, "sim-played"))
	check(err)
	s, err := scenario.Load(path)
	check(err)
	known, err := sim.Run(context.Background(), s, sim.Options{Played: true})
	check(err)

	lt, kt, ct := live.Summary.Scale, known.Summary.Scale, calibrated.Summary.Scale
	fmt.Printf("\n%8s  %-16s  %-16s  %-16s\n", "t", "live util ready→desired", "model", "calibrated")
	for _, p := range lt {
		fmt.Printf("%8s  %4.0f%%  %2d → %-2d     %s  %s\n", dur(p.T), p.Util*100, p.Ready, p.Desired, at(kt, p), at(ct, p))
	}
	for _, c := range []struct {
		name string
		tr   []result.ScalePoint
	}{{"the model as written", kt}, {"calibrated from the live run", ct}} {
		d := result.CompareScale(lt, c.tr)
		lag := "never within one replica"
		if !math.IsInf(d.MaxLagS, 1) {
			lag = dur(d.MaxLagS)
		}
		verdict := "MISS"
		if d.Agree() {
			verdict = "within one replica and one period at every decision"
		}
		fmt.Printf("live vs %s: %d decisions, max %d replica(s) apart at the same time (at %s), max lag to a prediction within one replica %s, period %s; %d decision(s) with no prediction within one replica and one period: %s\n",
			c.name, d.Decisions, d.MaxReplicas, dur(d.AtS), lag, dur(d.PeriodS), d.Misses, verdict)
	}
}

// rehearseRamp plays the ramp on the autoscaled fleet into out.
func rehearseRamp(bin, path, out string) {
	cmd := exec.Command(bin, "rehearse", path, "--replicas", fmt.Sprintf("%d..%d", asMin, asMax), "--workers", fmt.Sprint(asWorkers),
		"--work", "exp:"+asMean.String(), "--max-inflight", "0", "--max-rps", "0", "--no-tui", "--out", out)
	b, err := cmd.CombinedOutput()
	fmt.Printf("%s", grep(string(b), "requests (", "replicas (decisions)", "latency p99", "service p99"))
	if err != nil && !gateFailed(err) {
		fmt.Fprintf(os.Stderr, "%s\n", b)
		check(err)
	}
}

// at is the predicted decision in force at p's time: "util ready → desired (Δ)".
func at(tr []result.ScalePoint, p result.ScalePoint) string {
	var q *result.ScalePoint
	for i := range tr {
		if tr[i].T <= p.T+1e-9 {
			q = &tr[i]
		}
	}
	if q == nil {
		return fmt.Sprintf("%-16s", "-")
	}
	return fmt.Sprintf("%4.0f%% %2d → %-2d %+d", q.Util*100, q.Ready, q.Desired, p.Desired-q.Desired)
}

func dur(secs float64) string {
	return time.Duration(secs * float64(time.Second)).Round(100 * time.Millisecond).String()
}
