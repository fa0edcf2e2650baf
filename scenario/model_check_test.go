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
		Mode:        "warp"}
	var got []string
	for _, p := range bad.Problems() {
		got = append(got, p.Path)
	}
	want := []string{"workers_per_replica", "load_balancer", "service_time.p99", "step_times.checkout",
		"step_times.checkout.mean", "cache.hit_ratio", "db.shards", "db.shard_capacity_rps",
		"autoscaler.target_utilization", "autoscaler.min", "mode"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("problems at\n %v\nwant\n %v", got, want)
	}
}
