package scenario

import (
	"strings"
	"testing"
)

func TestModelProblems(t *testing.T) {
	var nilModel *Model
	if ps := nilModel.Problems(); len(ps) != 0 {
		t.Fatalf("nil model: %v", ps)
	}
	good := &Model{Replicas: 20, WorkersPerReplica: 64,
		ServiceTime: ServiceTime{Dist: "lognormal", P50: Duration(8e6), P99: Duration(60e6)},
		Cache:       &Cache{HitRatio: 0.92},
		DB:          &DB{Shards: 32, MaxShards: 128, ShardCapacityRPS: 2000},
		Autoscaler:  &Autoscaler{Type: "hpa", TargetUtilization: 0.7, Min: 20, Max: 300}}
	if ps := good.Problems(); len(ps) != 0 {
		t.Fatalf("good model: %v", ps)
	}
	bad := &Model{WorkersPerReplica: -1, LoadBalancer: "sticky",
		ServiceTime: ServiceTime{Dist: "lognormal", P50: Duration(8e6), P99: Duration(1e6)},
		StepTimes:   map[string]ServiceTime{"checkout": {Dist: "exponential"}},
		Cache:       &Cache{HitRatio: 1.5},
		DB:          &DB{Shards: 0, ShardCapacityRPS: -1},
		Autoscaler:  &Autoscaler{Type: "hpa", Min: 0, Max: 5, TargetUtilization: 2},
		Push:        &Push{ConnsPerReplica: -1, FanoutCost: -1, Reaction: -1, TargetUtilization: 1.5, BuyShare: new(2.0)},
		Mode:        "warp"}
	var got []string
	for _, p := range bad.Problems() {
		got = append(got, p.Path)
	}
	want := []string{"workers_per_replica", "load_balancer", "service_time.p99",
		"push.conns_per_replica", "push.fanout_cost", "push.reaction", "push.target_utilization", "push.buy_share",
		"step_times.checkout",
		"step_times.checkout.mean", "cache.hit_ratio", "db.shards", "db.shard_capacity_rps",
		"autoscaler.target_utilization", "autoscaler.min", "mode"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("problems at\n %v\nwant\n %v", got, want)
	}
}

// TestPushModelParse: model.push is read from a file, and a bad value is reported at its line
// and column.
func TestPushModelParse(t *testing.T) {
	const base = `name: crowd
duration: 5s
skus: [{sku: s, stock: 10, price: 1}]
traffic: {start_rps: 10, stages: [{duration: 5s, rps: 10}]}
journeys: [{name: buyer, steps: [{purchase: {sku: s}}]}]
model:
  replicas: 2
  push:
`
	s, err := Parse("ok.yaml", []byte(base+"    conns_per_replica: 50000\n    fanout_cost: 3us\n    buy_share: 0.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Model.Push; p == nil || p.ConnsPerReplica != 50000 || p.FanoutCost != Duration(3000) || *p.BuyShare != 0.5 {
		t.Fatalf("model.push read as %+v", s.Model.Push)
	}
	_, err = Parse("bad.yaml", []byte(base+"    conns_per_replica: -5\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:9:") || !strings.Contains(err.Error(), "model.push.conns_per_replica") {
		t.Fatalf("a negative conns_per_replica: %v", err)
	}
}
