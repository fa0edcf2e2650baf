package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A scenario whose answer is known: 2100 views/s of a deterministic 10 ms on replicas of 4
// workers needs 21 busy workers, so 5 replicas are overloaded (ρ = 1.05) and 6 the least that
// keeps the P99 under 100 ms.
const planScenario = `
name: plan
seed: 5
duration: 60s
traffic:
  arrivals: uniform
  start_rps: 2100
  stages: [{duration: 60s, rps: 2100}]
journeys: [{name: reader, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model:
  replicas: 12
  workers_per_replica: 4
  service_time: {dist: deterministic, mean: 10ms}
  autoscaler: {type: fixed}
gates: ["p(99) < 100ms"]
`

func TestPlanFindsTheLeastReplicas(t *testing.T) {
	s := mustParse(t, planScenario)
	var trials []PlanTrial
	res, err := Plan(context.Background(), s, PlanOptions{Options: Options{Mode: ModeFluid}, Trial: func(tr PlanTrial) { trials = append(trials, tr) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replicas != 6 || res.ModelReplicas != 12 {
		t.Fatalf("plan: %d replicas (model %d), want 6 (12); trials %+v", res.Replicas, res.ModelReplicas, trials)
	}
	if res.Failing == nil || res.Passing == nil || res.Failing.LatencyMs.P99 < 100 || res.Passing.LatencyMs.P99 >= 100 {
		t.Fatalf("margin summaries wrong: passing %+v failing %+v", res.Passing, res.Failing)
	}
	for _, tr := range trials {
		if tr.Pass != (tr.Replicas >= 6) {
			t.Errorf("trial at %d replicas: pass %v", tr.Replicas, tr.Pass)
		}
	}
}

func TestPlanNoCapacity(t *testing.T) {
	s := mustParse(t, planScenario)
	s.Gates = []string{"p(99) < 1ms"} // the service time alone is 10 ms
	_, err := Plan(context.Background(), s, PlanOptions{Options: Options{Mode: ModeFluid}, MaxReplicas: 64})
	if !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("err = %v, want ErrNoCapacity", err)
	}
}

// A spike the autoscaler cannot follow (30 s start-up): 2000 views/s of a deterministic 10 ms
// need 6 replicas of 4 workers (ρ = 0.83), and they must be ready before the spike. The
// model's minimum of 2 passes only because its schedule pre-scales to 10: plan must answer
// the ceiling and pre-scale the spike needs, never the floor.
const planSpike = `
name: plan-spike
seed: 5
duration: 200s
traffic:
  arrivals: uniform
  start_rps: 200
  stages:
    - {duration: 60s, rps: 200}
    - {duration: 2s, rps: 2000}
    - {duration: 60s, rps: 2000}
    - {duration: 2s, rps: 200}
    - {duration: 76s, rps: 200}
journeys: [{name: reader, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model:
  replicas: 2
  workers_per_replica: 4
  service_time: {dist: deterministic, mean: 10ms}
  autoscaler: {type: hpa, target_utilization: 0.7, min: 2, max: 20, startup: 30s, schedule: [{at: 20s, replicas: 10}, {at: 150s, replicas: 2}]}
gates: ["p(99) < 100ms"]
`

func TestPlanAutoscaledAnswersThePeak(t *testing.T) {
	s := mustParse(t, planSpike)
	var trials []PlanTrial
	res, err := Plan(context.Background(), s, PlanOptions{Options: Options{Mode: ModeFluid}, Trial: func(tr PlanTrial) { trials = append(trials, tr) }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Autoscaled || res.ModelCeiling != 20 || res.ModelPreScale != 10 {
		t.Fatalf("result %+v", res)
	}
	if res.PreScale < 5 || res.PreScale > 7 || res.Ceiling < 5 || res.Ceiling > 7 {
		t.Errorf("pre-scale %d, ceiling %d: want about 6 each; trials %+v", res.PreScale, res.Ceiling, trials)
	}
	if res.Failing == nil {
		t.Fatalf("no failing trial below the pre-scale %d", res.PreScale)
	}
	// The least pre-scale: one below it fails.
	for _, tr := range trials {
		if tr.Ceiling == res.Ceiling && tr.Replicas < res.PreScale && tr.Pass {
			t.Errorf("pre-scale %d passed below the answer %d", tr.Replicas, res.PreScale)
		}
	}
	// Replica-hours: 200 s of at least 2 replicas, at most the ceiling all along.
	if lo, hi := 2*200.0/3600, 20*200.0/3600; res.ReplicaHours < lo || res.ReplicaHours > hi || res.ModelReplicaHours < res.ReplicaHours {
		t.Errorf("replica-hours %.3f (model %.3f), want in [%.3f, %.3f] and at most the model's", res.ReplicaHours, res.ModelReplicaHours, lo, hi)
	}
}

// A long run is searched first at a coarse tick (here 4 s over 2 hours), whose answer is the
// first guess at the run's own tick: the same least replicas, and every simulation reported
// at the run's tick agrees with it.
func TestPlanWithAPilot(t *testing.T) {
	s := mustParse(t, strings.Replace(strings.Replace(planScenario, "duration: 60s", "duration: 2h", 1),
		"{duration: 60s, rps: 2100}", "{duration: 2h, rps: 2100}", 1))
	if pts := pilotTicks(s, time.Second); len(pts) != 1 || pts[0] != 4*time.Second {
		t.Fatalf("pilot ticks %v, want [4s]", pts)
	}
	var trials []PlanTrial
	res, err := Plan(context.Background(), s, PlanOptions{Options: Options{Mode: ModeFluid}, Trial: func(tr PlanTrial) { trials = append(trials, tr) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replicas != 6 {
		t.Fatalf("plan: %d replicas, want 6; trials %+v", res.Replicas, trials)
	}
	if res.Trials <= len(trials) {
		t.Errorf("%d simulations, %d at the run's tick: no pilot ran", res.Trials, len(trials))
	}
	for _, tr := range trials {
		if tr.Pass != (tr.Replicas >= 6) {
			t.Errorf("trial at %d replicas: pass %v", tr.Replicas, tr.Pass)
		}
	}
}
