package sim

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

func mustParse(t testing.TB, yaml string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A stationary scenario: one view per arrival, half of them cache hits, a lognormal service
// on 4 replicas × 8 workers at about 80% utilisation.
const stationary = `
name: stationary
seed: 3
duration: 400s
traffic:
  start_rps: 1500
  stages: [{duration: 400s, rps: 1500}]
journeys:
  - name: reader
    steps: [{view: {sku: a}}]
skus: [{sku: a, stock: 10, price: 1}]
model:
  replicas: 4
  workers_per_replica: 8
  service_time: {dist: lognormal, p50: 6ms, p99: 30ms}
  cache: {hit_ratio: 0.5, hit_time: 1ms}
gates: ["p(99) < 1s"]
`

func runMode(t testing.TB, s *scenario.Scenario, mode string) *result.Run {
	t.Helper()
	run, err := Run(context.Background(), s, Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// The fluid mode agrees with the per-request mode (the reference) in stationary runs: within
// 5% on the mean and 10% on the P99 latency, across load balancers, utilisations and with the
// database's contention.
func TestFluidAgreesWithRequest(t *testing.T) {
	for _, tc := range []struct {
		name, rate, extra string
	}{
		{"round-robin, light", "1500", ""},
		{"random, 83% busy", "6000", "  load_balancer: random\n"},
		{"least-connections, 83% busy", "6000", "  load_balancer: least-connections\n"},
		{"database contention", "3000", "  db: {shards: 4, shard_capacity_rps: 1000, query_time: 5ms, alpha: 0.05, beta: 0.001}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.ReplaceAll(stationary, "1500", tc.rate)
			if raceEnabled {
				y = strings.ReplaceAll(y, "400s", "40s")
			} else {
				y = strings.ReplaceAll(y, "400s", "120s")
			}
			y = strings.ReplaceAll(y, "gates:", tc.extra+"gates:")
			s := mustParse(t, y)
			r, f := runMode(t, s, ModeRequest).Summary, runMode(t, s, ModeFluid).Summary
			t.Logf("request: n=%d mean %.3f p99 %.3f ms; fluid: n=%d mean %.3f p99 %.3f ms",
				r.Requests.Total, r.LatencyMs.Mean, r.LatencyMs.P99, f.Requests.Total, f.LatencyMs.Mean, f.LatencyMs.P99)
			near(t, "requests", float64(f.Requests.Total), float64(r.Requests.Total), 0.01)
			near(t, "mean latency", f.LatencyMs.Mean, r.LatencyMs.Mean, 0.05)
			near(t, "P99 latency", f.LatencyMs.P99, r.LatencyMs.P99, 0.10)
			if f.Mode != "sim" || r.Mode != "sim" || f.Strategy != "model/fluid" || r.Strategy != "model/request" {
				t.Errorf("mode/strategy %q %q, %q %q", f.Mode, f.Strategy, r.Mode, r.Strategy)
			}
			if math.Abs(float64(len(f.Timeline)-len(r.Timeline))) > 1 {
				t.Errorf("timelines of %d and %d windows", len(f.Timeline), len(r.Timeline))
			}
		})
	}
}

// Played: the scenario as a live run plays it (rate_scale, compression), to sit beside one.
func TestPlayedScale(t *testing.T) {
	s := mustParse(t, `
name: played
duration: 100s
compress: 10
rate_scale: 0.1
traffic: {arrivals: uniform, start_rps: 1000, stages: [{duration: 100s, rps: 1000}]}
journeys: [{name: reader, steps: [{view: {sku: a}}, {think: 5s}, {view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model: {replicas: 2, service_time: {dist: deterministic, mean: 2ms}}
gates: ["p(99) < 1s"]
`)
	for _, mode := range []string{ModeRequest, ModeFluid} {
		run, err := Run(context.Background(), s, Options{Mode: mode, Played: true})
		if err != nil {
			t.Fatal(err)
		}
		su := run.Summary
		// 10 s of run clock standing for 100 s of scenario; rate_scale is the share of the
		// amplitude per run-clock second (100/s), so 1000 arrivals of two views each; the 5 s
		// think lasts 0.5 s of run clock, so every session finishes.
		if su.DurationS != 10 || su.ScenarioTimeS != 100 {
			t.Errorf("%s: %v s of run clock for %v s of scenario, want 10 and 100", mode, su.DurationS, su.ScenarioTimeS)
		}
		if got := su.Requests.Total; got != 2000 {
			t.Errorf("%s: %d requests, want 2000", mode, got)
		}
	}
}

// Multi-step journeys (a pause, a purchase with retries, a probabilistic pay) produce the same
// requests per step in both modes, and the same latency.
func TestJourneysAgree(t *testing.T) {
	s := mustParse(t, `
name: journeys
seed: 4
duration: 60s
traffic: {start_rps: 500, stages: [{duration: 60s, rps: 500}]}
skus: [{sku: a, stock: 100000000, price: 1}]
journeys:
  - {name: rusher, weight: 3, steps: [{view: {sku: a}}, {think: {min: 100ms, max: 900ms}},
      {purchase: {sku: a, retry: {on: [503], max: 2, backoff: 100ms}}}, {pay: {probability: 0.9}}]}
  - {name: browser, weight: 1, steps: [{view: {sku: a}}]}
model:
  replicas: 4
  workers_per_replica: 8
  service_time: {dist: lognormal, p50: 5ms, p99: 30ms}
  cache: {hit_ratio: 0.8}
  db: {shards: 4, shard_capacity_rps: 2000, query_time: 2ms}
gates: ["p(99) < 1s"]
`)
	r, f := runMode(t, s, ModeRequest).Summary, runMode(t, s, ModeFluid).Summary
	for _, step := range []string{"view", "purchase", "pay"} {
		near(t, step+" requests", float64(f.Requests.ByStep[step]), float64(r.Requests.ByStep[step]), 0.03)
	}
	near(t, "mean latency", f.LatencyMs.Mean, r.LatencyMs.Mean, 0.05)
	near(t, "P99 latency", f.LatencyMs.P99, r.LatencyMs.P99, 0.10)
	near(t, "pay_success", f.Rates["pay_success"].Value, r.Rates["pay_success"].Value, 1e-9)
}
