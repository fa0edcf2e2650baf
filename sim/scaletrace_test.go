package sim

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// playedRamp is a 14-minute ramp compressed 120 times (7 s of run time) on a 1..4 replica fleet
// whose HPA decides every 15 s of scenario time with a 30 s start-up.
const playedRamp = `
name: ramp
seed: 3
duration: 14m
compress: 120
skus: [{sku: mug, stock: 10000000, price: 20}]
traffic:
  arrivals: uniform
  start_rps: 40
  stages:
    - {duration: 1m, rps: 40}
    - {duration: 1m, rps: 240}
    - {duration: 2m, rps: 240}
    - {duration: 1m, rps: 30}
    - {duration: 9m, rps: 30}
journeys:
  - {name: buyer, steps: [{purchase: {sku: mug}}]}
model:
  mode: %s
  tick: 25ms
  replicas: 1
  workers_per_replica: 2
  service_time: {dist: exponential, mean: 20ms}
  autoscaler: {type: hpa, target_utilization: 0.7, min: 1, max: 4, startup: 30s}
`

// TestPlayedScaleOnScenarioTime: a played (compressed) simulation's autoscaler decides on
// scenario time, as the live fleet's does: a decision every 15 scenario seconds (56 over the
// 14 minutes, not none in 7 s of run time), the fleet scaling up at the peak and back down,
// in both modes (the fluid one on a 25 ms tick: 3 scenario seconds); summary scale[] has them. A full-scale run keeps no trace.
func TestPlayedScaleOnScenarioTime(t *testing.T) {
	for _, mode := range []string{ModeRequest, ModeFluid} {
		s := mustParse(t, fmt.Sprintf(playedRamp, mode))
		run, err := Run(context.Background(), s, Options{Played: true})
		if err != nil {
			t.Fatal(err)
		}
		tr := run.Summary.Scale
		if len(tr) < 55 || len(tr) > 57 {
			t.Fatalf("%s: %d decisions, want 56 (every 15 s of 14 scenario minutes)", mode, len(tr))
		}
		top := 0
		for i, p := range tr {
			if want := 15 * float64(i+1); math.Abs(p.T-want) > 0.5 {
				t.Fatalf("%s: decision %d at %.2f s, want %.0f s", mode, i, p.T, want)
			}
			top = max(top, p.Desired)
		}
		if top < 3 || tr[len(tr)-1].Desired > 2 {
			t.Errorf("%s: the fleet peaks at %d and ends at %d; want ≥ 3 at the peak and ≤ 2 after", mode, top, tr[len(tr)-1].Desired)
		}
		if run.Summary.Replicas.Max < 3 {
			t.Errorf("%s: the timeline's replicas peak at %d: pods started on scenario time never became ready", mode, run.Summary.Replicas.Max)
		}
		full, err := Run(context.Background(), s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Summary.Scale) != 0 {
			t.Errorf("%s: a full-scale run keeps %d decisions", mode, len(full.Summary.Scale))
		}
	}
}
