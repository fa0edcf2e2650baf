package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// spreadScenario is the bundled ramp that scales the fleet 2 → 6 → 2 (200 → 800 → 200/s).
const spreadScenario = "autoscale-spread"

// spreadCase is one rehearsal of the ramp: how the load reaches the fleet.
type spreadCase struct {
	name  string
	flags []string
	front bool
	age   time.Duration
}

// spread rehearses the autoscale-spread ramp on a fleet of `serve --workers 4 --work exp:20ms`
// scaled 2..6 three ways: the engine spreading every request itself (--front none), behind a
// layer-4 front that pins connections (--front l4), and the same with connections recycled at
// age (--conn-max-age). For each it prints the load per replica (answers, share of the fair
// share, how long after joining a replica took 80% of it), replica_spread, and the live traces
// of replicas and idle replicas beside the simulator's (the model as written, and as
// rehearse calibrated it), with the autoscaling trace's tolerance: one replica, one period.
func spread(bin, dir string, age time.Duration, reuse bool) {
	cases := []spreadCase{
		{name: "front-none", flags: []string{"--front", "none"}},
		{name: "front-l4", flags: []string{"--front", "l4"}, front: true},
		{name: "front-l4-recycled", flags: []string{"--front", "l4", "--conn-max-age", age.String()}, front: true, age: age},
	}
	s, err := scenario.Load(spreadScenario)
	check(err)
	fmt.Printf("spread: rehearse %s --replicas %d..%d --workers %d --work exp:%s, three ways; runs in %s\n", spreadScenario, asMin, asMax, asWorkers, asMean, dir)
	for _, c := range cases {
		out := filepath.Join(dir, c.name)
		if _, err := os.Stat(filepath.Join(out, result.SummaryFile)); err != nil || !reuse {
			args := append([]string{"rehearse", spreadScenario, "--replicas", fmt.Sprintf("%d..%d", asMin, asMax),
				"--workers", fmt.Sprint(asWorkers), "--work", "exp:" + asMean.String(), "--max-inflight", "0", "--max-rps", "0",
				"--no-tui", "--out", out}, c.flags...)
			start := time.Now()
			b, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil && !gateFailed(err) {
				fmt.Fprintf(os.Stderr, "%s\n", b)
				check(err)
			}
			fmt.Printf("\n== %s (%s; %s)\n%s", c.name, strings.Join(c.flags, " "), time.Since(start).Round(time.Second),
				grep(string(b), "requests (", "replicas (decisions)", "replica_spread", "error_rate"))
		} else {
			fmt.Printf("\n== %s (%s; reused)\n", c.name, strings.Join(c.flags, " "))
		}
		live, err := result.ReadRun(out)
		check(err)
		calibrated, err := result.ReadRun(filepath.Join(out, "sim-played"))
		check(err)
		model, err := sim.Run(context.Background(), spreadModel(s, c, live.Summary), sim.Options{Played: true})
		check(err)
		spreadReport(live.Summary, model.Summary, calibrated.Summary)
	}
}

// spreadModel is the scenario's model as rehearse plays it beside the case: the fleet's range,
// and behind the front the engine's connections and their recycling (rehearse's frontScenario).
func spreadModel(s *scenario.Scenario, c spreadCase, live *result.Summary) *scenario.Scenario {
	cs := *s
	m := *s.Model
	au := *m.Autoscaler
	au.Min, au.Max, m.Replicas = asMin, asMax, asMin
	m.Autoscaler = &au
	if c.front {
		play, err := s.Play(scenario.PlayOptions{})
		check(err)
		m.LoadBalancer = "l4"
		m.Connections = &scenario.Connections{Count: scenario.DefaultConns(play.PeakRate()) * asMax / asMin, MaxAge: scenario.Duration(c.age)}
	}
	cs.Model = &m
	return &cs
}

// spreadReport prints one case: the live load per replica, the late replicas' share, and the
// traces beside the predictions.
func spreadReport(live, model, calibrated *result.Summary) {
	spread, err := result.ReplicaSpread(live)
	sp := fmt.Sprintf("%.2f", spread)
	if err != nil {
		sp = err.Error()
	}
	fmt.Printf("live: %d requests, %d errors %v, replica_spread %s (model %s, calibrated %s)\n",
		live.Requests.Total, live.Requests.Errors, live.Requests.ByError, sp, spreadOf(model), spreadOf(calibrated))
	fmt.Printf("  %-10s %8s %9s %6s %10s %9s   %s\n", "replica", "answers", "p99 ms", "fair", "ready at", "80% after", "model: answers fair 80% after")
	var lateGot, lateFair float64
	var lateN int
	for _, id := range result.ReplicaIDs(live) {
		rs := live.Requests.ByReplica[id]
		from := math.NaN()
		if len(rs.Ready) > 0 {
			from = rs.Ready[0].FromS
		}
		fmt.Printf("  %-10s %8d %9.1f %6.2f %9.1fs %9s   %s\n", id, rs.Count, rs.P99Ms, rs.Fair, from, reach(rs.ReachS), predictedReplica(model, id))
		if from > 0 {
			lateN++
			lateGot += float64(rs.Count)
			lateFair += rs.Fair
		}
	}
	if lateN > 0 {
		fmt.Printf("  replicas that joined during the run: %d, %.0f answers, %.1f%% of all, mean %.2f of their fair share\n",
			lateN, lateGot, 100*lateGot/float64(max(live.Requests.Total, 1)), lateFair/float64(lateN))
	}
	for _, p := range []struct {
		name string
		s    *result.Summary
	}{{"the model as written", model}, {"calibrated from the live run", calibrated}} {
		fmt.Printf("  vs %s: replicas %s; idle replicas %s\n", p.name,
			traceVerdict(live.Scale, p.s.Scale), traceVerdict(result.IdleTrace(live), result.IdleTrace(p.s)))
	}
	fmt.Printf("  levels: replicas live %v model %v; idle live %v model %v\n", result.ScaleLevels(live.Scale), result.ScaleLevels(model.Scale),
		result.ScaleLevels(result.IdleTrace(live)), result.ScaleLevels(result.IdleTrace(model)))
}

func spreadOf(s *result.Summary) string {
	v, err := result.ReplicaSpread(s)
	if err != nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

func reach(r *float64) string {
	if r == nil {
		return "never"
	}
	return fmt.Sprintf("%.1fs", *r)
}

// predictedReplica is the simulator's figures for replica id.
func predictedReplica(s *result.Summary, id string) string {
	rs, ok := s.Requests.ByReplica[id]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%d %.2f %s", rs.Count, rs.Fair, reach(rs.ReachS))
}

// traceVerdict compares two traces with result.CompareScale.
func traceVerdict(live, predicted []result.ScalePoint) string {
	d := result.CompareScale(live, predicted)
	if d.Decisions == 0 {
		return "no decisions"
	}
	verdict := fmt.Sprintf("%d misses", d.Misses)
	if d.Agree() {
		verdict = "within one replica and one period at every decision"
	}
	return fmt.Sprintf("max %d apart (at %s), %s", d.MaxReplicas, dur(d.AtS), verdict)
}
