package rehearse

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// TestBundledScenariosPlayLiveAndSimulated plays every bundled scenario both ways, briefly: live
// against the in-process reference target (squeezed into a short wall time at a peak of at most
// a few hundred arrivals per second and a herd of at most a few hundred, so the race detector
// keeps up), with its SKUs created and the audit checked; and in the simulator at the same
// played scale. Each must have a description, send requests, sell without overselling, and give
// a simulated summary.
func TestBundledScenariosPlayLiveAndSimulated(t *testing.T) {
	names := scenario.BundledNames()
	if len(names) < 9 {
		t.Fatalf("%d bundled scenarios, want at least the 9 of issue 8: %v", len(names), names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s, err := scenario.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(s.Description) == "" || strings.Contains(s.Description, "\n") {
				t.Errorf("description %q: want one line", s.Description)
			}
			const wall = 2 * time.Second
			full, err := s.Play(scenario.PlayOptions{Wall: wall})
			if err != nil {
				t.Fatal(err)
			}
			// A crowd's herd arrives at the opening all at once, beside the curve's peak: 3,000
			// purchases within a second timed out by the hundred under the race detector on a
			// loaded machine, so the herd is held to a few hundred too.
			factor := min(1, 300/full.PeakRate())
			if plan := full.CrowdPlan(); plan != nil {
				factor = min(factor, 300/float64(plan.Watchers))
			}
			scale := s.RateScale * factor
			po := scenario.PlayOptions{Wall: wall, RateScale: scale}

			tgt, err := StartTarget(context.Background(), TargetOptions{Strategy: "memory"})
			if err != nil {
				t.Fatal(err)
			}
			defer tgt.Stop(context.Background())
			live, err := engine.Run(context.Background(), s, engine.Options{
				Target: tgt.URL(), AdminToken: tgt.AdminToken(), Setup: true,
				Play: po, NoPreflight: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			ls := live.Summary
			t.Logf("live: %d requests, codes %v, errors %v, herd %+v, push %+v", ls.Requests.Total, ls.Requests.ByCode, ls.Requests.ByError, ls.Herd, ls.Push)
			if ls.Requests.Total == 0 {
				t.Errorf("live: no requests sent")
			}
			if !ls.Audit.Checked || ls.Audit.Oversold != 0 || ls.Audit.Lost != 0 {
				t.Errorf("live audit %+v: want checked, nothing oversold or lost", ls.Audit)
			}
			if ls.Requests.Errors > 0 {
				t.Errorf("live: %d errors (%v)", ls.Requests.Errors, ls.Requests.ByError)
			}

			sm, err := sim.Run(context.Background(), s, sim.Options{Played: true, Wall: wall, RateScale: scale})
			if err != nil {
				t.Fatalf("sim: %v", err)
			}
			if ss := sm.Summary; ss.Mode != "sim" || ss.Requests.Total == 0 || ss.Audit.Oversold != 0 {
				t.Errorf("sim: mode %q, %d requests, oversold %d", ss.Mode, ss.Requests.Total, ss.Audit.Oversold)
			}
		})
	}
}
