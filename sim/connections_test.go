package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// connRamp scales a fleet of 2..6 from 200/s to 800/s (a replica serves 200/s, the HPA aims at
// 70%) behind a layer-4 front holding 48 connections; %s is model.connections' recycling.
const connRamp = `
name: conn-ramp
seed: 5
duration: 10m
compress: 10
skus: [{sku: mug, stock: 100000000, price: 20}]
traffic:
  start_rps: 200
  stages:
    - {duration: 2m, rps: 200}
    - {duration: 2m, rps: 800}
    - {duration: 6m, rps: 800}
journeys: [{name: viewer, steps: [{view: {sku: mug}}]}]
model:
  mode: request
  replicas: 2
  workers_per_replica: 4
  service_time: {dist: exponential, mean: 20ms}
  load_balancer: l4
  connections: {count: 48%s}
  autoscaler: {type: hpa, target_utilization: 0.7, min: 2, max: 6, startup: 30s}
`

// latecomers sums the answers and fair shares of the replicas that were not ready at the start.
func latecomers(s *result.Summary) (answers int64, fair float64, n int) {
	for _, rs := range s.Requests.ByReplica {
		if len(rs.Ready) > 0 && rs.Ready[0].FromS > 0 {
			answers += rs.Count
			fair += rs.Fair
			n++
		}
	}
	return answers, fair, n
}

// TestL4PinsConnections: behind a layer-4 front the replicas the autoscaler adds get no load
// while the generator's connections stay open (they were all given to the first two replicas),
// so replica_spread is 0; with connections recycled every 5 s of the run clock the new replicas
// get their share (each near its fair share, replica_spread well above).
func TestL4PinsConnections(t *testing.T) {
	spread := map[string]float64{}
	for _, rec := range []string{"", ", max_age: 5s"} {
		run, err := Run(context.Background(), mustParse(t, fmt.Sprintf(connRamp, rec)), Options{Played: true})
		if err != nil {
			t.Fatal(err)
		}
		s := run.Summary
		if s.Replicas.Max < 5 {
			t.Fatalf("recycling %q: the fleet reached %d replicas, want the ramp to scale it to 5 or 6", rec, s.Replicas.Max)
		}
		answers, fair, n := latecomers(s)
		v, err := result.ReplicaSpread(s)
		if err != nil {
			t.Fatal(err)
		}
		spread[rec] = v
		t.Logf("recycling %q: %d replicas joined late, %d answers (mean fair share %.2f); replica_spread %.2f; errors %v",
			rec, n, answers, fair/float64(max(n, 1)), v, s.Requests.ByError)
		if n < 3 {
			t.Fatalf("recycling %q: %d replicas joined during the run, want at least 3 (by_replica %+v)", rec, n, s.Requests.ByReplica)
		}
		if rec == "" {
			if answers != 0 || v != 0 {
				t.Errorf("without recycling the late replicas answered %d requests (replica_spread %.2f), want none", answers, v)
			}
			continue
		}
		if fair/float64(n) < 0.6 {
			t.Errorf("recycled every 5 s the late replicas took %.2f of their fair share, want at least 0.6", fair/float64(n))
		}
	}
	if spread[", max_age: 5s"] < 0.4 {
		t.Errorf("replica_spread with recycling %.2f, want at least 0.4", spread[", max_age: 5s"])
	}
}

// fixedL4 is 3 replicas behind a front with %s as model.connections.
const fixedL4 = `
name: fixed-l4
seed: 2
duration: 20s
skus: [{sku: mug, stock: 100000000, price: 20}]
traffic: {arrivals: uniform, start_rps: %d, stages: [{duration: 20s, rps: %d}]}
journeys: [{name: viewer, steps: [{view: {sku: mug}}]}]
model:
  mode: request
  replicas: 3
  workers_per_replica: 4
  service_time: {dist: %s}
  load_balancer: l4
  connections: {%s}
`

// TestL4MaxRequests: two connections on three replicas leave one idle; closed after every
// request they are reopened round robin over all three, so the load spreads evenly.
func TestL4MaxRequests(t *testing.T) {
	for _, c := range []struct {
		conns string
		idle  bool
	}{{"count: 2", true}, {"count: 2, max_requests: 1", false}} {
		run, err := Run(context.Background(), mustParse(t, fmt.Sprintf(fixedL4, 100, 100, "exponential, mean: 5ms", c.conns)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		s := run.Summary
		v, err := result.ReplicaSpread(s)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: by_replica %v, spread %.2f", c.conns, counts(s), v)
		if len(s.Requests.ByReplica) != 3 {
			t.Fatalf("%s: by_replica %+v, want all three replicas (an idle one with count 0)", c.conns, s.Requests.ByReplica)
		}
		idle := s.Requests.ByReplica["replica-2"].Count == 0
		if idle != c.idle || c.idle && v != 0 || !c.idle && v < 0.9 {
			t.Errorf("%s: replica-2 idle %v, spread %.2f", c.conns, idle, v)
		}
	}
}

// TestL4ConnectionWait: one connection carries one request at a time; requests beyond what it
// carries wait for it, first come first served, and fail as timeouts after the pool's wait, as
// the live engine's pool does.
func TestL4ConnectionWait(t *testing.T) {
	run, err := Run(context.Background(), mustParse(t, fmt.Sprintf(fixedL4, 20, 20, "deterministic, mean: 100ms", "count: 1, wait: 1s")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Summary
	ok := s.Requests.Total - s.Requests.ByError["timeout"]
	t.Logf("%d requests, %d timed out waiting, latency p99 %.0f ms", s.Requests.Total, s.Requests.ByError["timeout"], s.LatencyMs.P99)
	// 20 s of arrivals, and those waiting at the end served for the wait's second more.
	if ok > 212 || ok < 190 {
		t.Errorf("%d answered over one connection of 100 ms requests in 20 s, want 200 to 210", ok)
	}
	if s.Requests.ByError["timeout"] < 150 {
		t.Errorf("%d timeouts, want the rest of 400 arrivals", s.Requests.ByError["timeout"])
	}
	if s.LatencyMs.Max > 1100*1.001 { // the histogram's 3 digits
		t.Errorf("latency max %.0f ms: a request waits at most 1 s for its connection, then 100 ms", s.LatencyMs.Max)
	}
}

// TestModelConnectionsValidation: connections without load_balancer: l4 and negative values are
// refused with their paths.
func TestModelConnectionsValidation(t *testing.T) {
	y := strings.Replace(fmt.Sprintf(fixedL4, 10, 10, "exponential, mean: 5ms", "count: -1, max_age: -1s, max_requests: -2"), "load_balancer: l4", "load_balancer: random", 1)
	_, err := parseErr(y)
	for _, want := range []string{"model.connections: describes", "model.connections.count", "model.connections.max_age", "model.connections.max_requests"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want %q", err, want)
		}
	}
}

func counts(s *result.Summary) map[string]int64 {
	m := map[string]int64{}
	for id, rs := range s.Requests.ByReplica {
		m[id] = rs.Count
	}
	return m
}

func parseErr(y string) (any, error) { return scenario.Parse("test.yaml", []byte(y)) }
