package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/dist"
	"github.com/flashload/flashload/rehearse"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/sim"
)

// Short versions of the fidelity goals (scripts/fidelity has the long ones) against the
// in-process target with a known capacity: 8 slots of an exponential 10 ms (800/s).

const fidelityScenario = `name: fidelity
duration: %s
skus: [{sku: bar-sku, stock: 100000000, price: 100}]
traffic: {start_rps: %g, stages: [{duration: %s, rps: %g}]}
journeys: [{name: viewer, steps: [{view: {sku: bar-sku}}]}]
model: {replicas: 1, workers_per_replica: 8, service_time: {dist: exponential, mean: 10ms}}
gates: ["p(99) < 100ms"]
`

func startKnownTarget(t *testing.T) (string, string) {
	t.Helper()
	work, err := dist.Parse("exp:10ms")
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := rehearse.StartTarget(context.Background(), rehearse.TargetOptions{Strategy: "memory", Workers: 8, Work: work})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Stop(context.Background()) })
	return tgt.URL(), tgt.AdminToken()
}

func writeFidelity(t *testing.T, rate float64, d time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fidelity.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(fidelityScenario, d, rate, d, rate)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A live run at three quarters of the known capacity: the calibration reads the 8 slots and
// about 10 ms back from it. At half the capacity a 4 s run has too few requests sent with more
// than 8 in flight to show the knee every time (CI once fitted 10, "no knee"; 6 local runs
// fitted 7 to 10), at 75% they are a third of the run (10 runs, 5 of them beside two busy
// loops, fitted 8 or 9), and the latency is Erlang C's (M/M/8) at the calibrated service time. The
// nominal 10 ms is not asserted: on a loaded machine the slots' timers fire late (docs/simulator.md).
func TestFidelityKnownCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("a 4 s live run")
	}
	url, token := startKnownTarget(t)
	dir := t.TempDir()
	var out bytes.Buffer
	o := &runOptions{Scenario: writeFidelity(t, 600, 4*time.Second), Target: url, AdminToken: token, Out: dir, Stdout: &out, Stderr: &out}
	if err := runLive(context.Background(), o); err != nil && exitCode(err, &out) != exitGate {
		t.Fatalf("%v\n%s", err, out.String())
	}
	run, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := sim.Calibrate(run)
	if err != nil {
		t.Fatal(err)
	}
	if !cal.WorkersFound || cal.Workers < 6 || cal.Workers > 10 {
		t.Errorf("calibrated %d workers (found %v), want about 8: %v", cal.Workers, cal.WorkersFound, cal.Notes)
	}
	if m := cal.Mean.Seconds() * 1000; m < 9 || m > 14 {
		t.Errorf("calibrated mean service time %.2f ms, want about 10: %v", m, cal.Notes)
	}
	// The target reports its own time on every answer: the calibration reads the service time
	// without the loopback round trip (0.26 to 0.38 ms in three local runs) and keeps it apart.
	if cal.RoundTrip <= 0 || cal.RoundTrip > 5*time.Millisecond {
		t.Errorf("round trip %v, want a fraction of a millisecond (the target's Server-Timing): %v", cal.RoundTrip, cal.Notes)
	}
	s := run.Summary
	lam := float64(s.Requests.Total) / s.DurationS
	q := sim.MMc(8, lam, 1/cal.Mean.Seconds())
	mean, p99 := q.MeanSojourn()*1000, q.SojournQuantile(0.99)*1000
	// The latency against Erlang C is logged, not asserted: the engine and the target share this
	// process and a loaded machine's two cores, and a starved engine sends late (latency from the
	// intended time); scripts/fidelity measures it with the target in a process of its own.
	t.Logf("live %.0f/s: mean %.2f ms (Erlang C %.2f), p99 %.2f ms (%.2f); calibrated %v", lam, s.LatencyMs.Mean, mean, s.LatencyMs.P99, p99, cal.Notes)
}

// run --find-capacity with p(99) < 100ms finds about Erlang C's 749/s.
func TestFidelityFindCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("a dozen 1.5 s live steps")
	}
	url, token := startKnownTarget(t)
	dir := t.TempDir()
	var out bytes.Buffer
	o := &runOptions{Scenario: writeFidelity(t, 400, 2*time.Second), Target: url, AdminToken: token, Out: dir, Stdout: &out, Stderr: &out,
		Capacity: capacityFlags{Find: true, Step: 1500 * time.Millisecond, StartRate: 400, Precision: 0.05}}
	if err := runLive(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checkCapacitySearch(t, dir, out.String())
}

// checkCapacitySearch checks the capacity search written to dir: the search itself, not the
// machine's speed (how close the found rate comes to Erlang C's 749/s is measured by
// scripts/fidelity, docs/simulator.md, not asserted here): some step passed and some failed,
// max_rate is the highest passing step, and the run directory holds that step's run.
func checkCapacitySearch(t *testing.T, dir, out string) *result.Capacity {
	t.Helper()
	run, err := result.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := run.Summary.Capacity
	if c == nil || len(c.Steps) < 3 {
		t.Fatalf("capacity %+v\n%s", c, out)
	}
	var best, lowestFail float64
	lowestFail = math.Inf(1)
	for _, st := range c.Steps {
		if st.Pass {
			best = max(best, st.Rate)
		} else {
			lowestFail = min(lowestFail, st.Rate)
		}
	}
	if best == 0 || math.IsInf(lowestFail, 1) || c.MaxRate != best {
		t.Errorf("max rate %.0f/s, highest passing step %.0f/s, lowest failing step %.0f/s: want a boundary found\n%s", c.MaxRate, best, lowestFail, out)
	}
	if run.Summary.Requests.Total == 0 || len(run.Summary.Gates) == 0 || !run.Summary.Gates[0].Pass {
		t.Errorf("the run directory is not the highest passing step: %+v", run.Summary.Gates)
	}
	t.Logf("max rate %.0f/s in %d steps (Erlang C 749/s; on a loaded machine late timers cost capacity)", c.MaxRate, len(c.Steps))
	return c
}

// rehearse --find-capacity: the same search, each step a rehearsal of its own (a fresh
// in-process target of 8 slots of an exponential 10 ms), finds a boundary, keeps every step
// under steps/ and the highest passing one as the run directory's run.
func TestRehearseFindCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("a dozen 1.5 s live steps")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	o := &rehearseOptions{Name: writeFidelity(t, 400, 2*time.Second),
		Capacity: capacityFlags{Find: true, Step: 1500 * time.Millisecond, StartRate: 400, Precision: 0.05}}
	o.Work, o.Target.Workers, o.Out, o.Stdout, o.Stderr = "exp:10ms", 8, dir, &out, &out
	if err := rehearseRun(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	c := checkCapacitySearch(t, dir, out.String())
	steps, err := os.ReadDir(filepath.Join(dir, "steps"))
	if err != nil || len(steps) != len(c.Steps) {
		t.Errorf("%d step directories (%v), %d steps", len(steps), err, len(c.Steps))
	}
}
