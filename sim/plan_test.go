package sim

import (
	"context"
	"errors"
	"testing"
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
