package parity

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/rehearse"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// Every bundled scenario is played twice at the same played scale and seed: live, against the
// reference target in-process (the memory strategy), and by the simulator's request mode. Both
// interpret one journey program and the simulator answers by the target's rules, so what each
// step was answered must agree: the same step names, and per step the same answers by code
// within a statistical tolerance. The model is generous on purpose (nothing queues, sheds or
// times out), and the rate is low enough for a busy machine, so the counts differ only by
// chance: each arrival's journey, user and pauses are the same in both, while pay's coin and
// retries' jitter come from different sources, and a request that is answered a few
// milliseconds later live can fall on the other side of a sell-out or a window's edge.

// parityModel gives the simulator a service that keeps up with the played rate.
var parityModel = &scenario.Model{Replicas: 16, WorkersPerReplica: 256,
	ServiceTime: scenario.ServiceTime{Dist: "deterministic", Mean: scenario.Duration(time.Millisecond)}}

// parityArrivals is about how many arrivals each played scenario has: enough for the counts to
// mean something, few enough that 15 scenarios play in a couple of minutes under -race.
const parityArrivals = 1200

// tolerance is how far apart two counts of one step and code may be: about four standard
// deviations of a Poisson count, plus a few answers for the edges of sell-outs and windows.
func tolerance(a, b int64) float64 { return 8 + 4*math.Sqrt(float64(max(a, b))) }

func TestParityBundledScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("plays every bundled scenario live")
	}
	for _, name := range scenario.BundledNames() {
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			compareStepAnswers(t, s, 3*time.Second)
		})
	}
}

// prepareParity strips what the comparison leaves out (faults, the scenario's own capacity
// model) and picks the rate scale that plays about parityArrivals arrivals in wall.
func prepareParity(t *testing.T, s *scenario.Scenario, wall time.Duration) scenario.PlayOptions {
	t.Helper()
	s.Faults = nil
	s.Model = parityModel
	full, err := s.Play(scenario.PlayOptions{Wall: wall, RateScale: 1})
	if err != nil {
		t.Fatal(err)
	}
	return scenario.PlayOptions{Wall: wall, RateScale: min(1, parityArrivals/max(full.Total(), 1))}
}

// compareStepAnswers plays s live and simulated and compares the answers step by step.
func compareStepAnswers(t *testing.T, s *scenario.Scenario, wall time.Duration) {
	t.Helper()
	po := prepareParity(t, s, wall)
	live := playParity(t, s, po)
	// The model's service time is the live run's mean latency: how long a request is in flight,
	// as its journey sees it, decides how many journeys act on the same state at once (how many
	// find a group full before its successor is known, how many buy the last units), and it
	// varies with the machine's load and the race detector.
	m := *parityModel
	m.ServiceTime.Mean = scenario.Duration(max(live.LatencyMs.Mean, 0.05) * float64(time.Millisecond))
	s.Model = &m
	simRun, err := sim.Run(context.Background(), s, sim.Options{Mode: sim.ModeRequest, Played: true, Wall: po.Wall, RateScale: po.RateScale})
	if err != nil {
		t.Fatal(err)
	}
	if d := stepDiff(live.Steps, simRun.Summary.Steps); d != "" {
		t.Errorf("%s: the live run and the simulation answered the steps differently (live | sim):\n%s", s.Name, d)
	}
}

func playParity(t *testing.T, s *scenario.Scenario, po scenario.PlayOptions) *result.Summary {
	t.Helper()
	tgt, err := rehearse.StartTarget(context.Background(), rehearse.TargetOptions{Strategy: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Stop(context.Background()) })
	res, err := engine.Run(context.Background(), s, engine.Options{Target: tgt.URL(), AdminToken: tgt.AdminToken(), Setup: true,
		NoPreflight: true, Play: po, Timeout: 10 * time.Second, Drain: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Partial {
		t.Fatalf("the live run was cut: %q", res.Summary.Warnings)
	}
	if d := res.Summary.Requests.Dropped; d > 0 {
		t.Fatalf("the live run dropped %d arrivals: the machine could not keep up, the comparison means nothing", d)
	}
	return res.Summary
}

// stepDiff lists every step and code whose counts differ by more than the tolerance, and every
// step one side has and the other lacks; "" when they agree.
func stepDiff(live, simulated map[string]result.NamedStats) string {
	var out []string
	names := map[string]bool{}
	for k := range live {
		names[k] = true
	}
	for k := range simulated {
		names[k] = true
	}
	for _, step := range slices.Sorted(maps.Keys(names)) {
		l, lok := live[step]
		m, mok := simulated[step]
		if !lok || !mok {
			out = append(out, fmt.Sprintf("  step %q: live %v, sim %v (a step only one engine has)", step, lok, mok))
			continue
		}
		codes := map[string]bool{}
		for c := range l.ByCode {
			codes[c] = true
		}
		for c := range m.ByCode {
			codes[c] = true
		}
		keys := slices.Sorted(maps.Keys(codes))
		sort.Strings(keys)
		for _, c := range keys {
			a, b := l.ByCode[c], m.ByCode[c]
			if math.Abs(float64(a-b)) > tolerance(a, b) {
				out = append(out, fmt.Sprintf("  %s %s: %d | %d (tolerance %.0f)", step, c, a, b, tolerance(a, b)))
			}
		}
	}
	return strings.Join(out, "\n")
}
