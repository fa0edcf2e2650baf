package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Problems checks the ranges of a capacity model and returns every problem at once, each at its
// YAML path relative to the model ({"autoscaler.min", "must be ≥ 1"}); the scenario validator
// prefixes "model." and turns paths into file:line:col. The sim package owns the meaning of
// the model.
// A nil model has no problems (the simulator then uses its defaults).
func (m *Model) Problems() []Problem {
	if m == nil {
		return nil
	}
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if m.Replicas < 0 {
		add("replicas", "must be ≥ 1 (or omitted for the autoscaler's min)")
	}
	if m.WorkersPerReplica < 0 {
		add("workers_per_replica", "must be ≥ 1")
	}
	if m.CoresPerReplica < 0 {
		add("cores_per_replica", "must be ≥ 1")
	}
	if m.RoundTrip < 0 {
		add("round_trip", "must be ≥ 0")
	}
	switch m.LoadBalancer {
	case "", "round-robin", "least-connections", "random", "l4":
	default:
		add("load_balancer", "must be round-robin, least-connections, random or l4, not %q", m.LoadBalancer)
	}
	m.connectionProblems(add)
	checkServiceTime(m.ServiceTime, "service_time", add)
	if p := m.Push; p != nil {
		checkPush(p, add)
	}
	for _, k := range slices.Sorted(maps.Keys(m.StepTimes)) {
		switch k {
		case "view", "purchase", "pay", "cancel", "join_group", "request":
		default:
			add("step_times."+k, "unknown step %q: want view, purchase, pay, cancel, join_group or request", k)
		}
		checkServiceTime(m.StepTimes[k], "step_times."+k, add)
	}
	if c := m.Cache; c != nil {
		if c.HitRatio < 0 || c.HitRatio > 1 {
			add("cache.hit_ratio", "must be between 0 and 1")
		}
		if c.HitTime < 0 {
			add("cache.hit_time", "must be ≥ 0")
		}
	}
	checkDB(m.DB, add)
	if m.QueueLimit < 0 {
		add("queue_limit", "must be ≥ 0 (0: unbounded)")
	}
	if m.Timeout < 0 {
		add("timeout", "must be ≥ 0 (0: none)")
	}
	if m.ShedAboveRPS < 0 {
		add("shed_above_rps", "must be ≥ 0 (0: never)")
	}
	checkBreaker(m.CircuitBreaker, add)
	checkAutoscaler(m.Autoscaler, m.Replicas, add)
	switch m.Mode {
	case "", "auto", "fluid", "request":
	default:
		add("mode", "must be auto, fluid or request, not %q", m.Mode)
	}
	if m.Tick < 0 {
		add("tick", "must be > 0")
	}
	return ps
}

func checkServiceTime(st ServiceTime, path string, add func(path, format string, args ...any)) {
	switch strings.ToLower(st.Dist) {
	case "":
		if st.Mean != 0 || st.P50 != 0 || st.P99 != 0 || st.Histogram != "" {
			add(path+".dist", "is required: exponential, lognormal, deterministic or empirical")
		}
	case "exponential", "deterministic":
		if st.Mean <= 0 {
			add(path+".mean", "must be > 0 for %s", st.Dist)
		}
	case "lognormal":
		if st.P50 <= 0 {
			add(path+".p50", "must be > 0")
		}
		if st.P99 < st.P50 {
			add(path+".p99", "must be ≥ p50")
		}
	case "empirical":
		if st.Histogram == "" {
			add(path+".histogram", "empirical needs the path of a live run's histograms.hlog or its directory")
		}
	default:
		add(path+".dist", "must be exponential, lognormal, deterministic or empirical, not %q", st.Dist)
	}
}

func checkDB(d *DB, add func(path, format string, args ...any)) {
	if d == nil {
		return
	}
	if d.Shards < 1 {
		add("db.shards", "must be ≥ 1")
	}
	if d.MaxShards != 0 && d.MaxShards < d.Shards {
		add("db.max_shards", "must be ≥ db.shards (%d)", d.Shards)
	}
	if d.ShardCapacityRPS <= 0 {
		add("db.shard_capacity_rps", "must be > 0")
	}
	if d.Alpha < 0 || d.Alpha > 1 {
		add("db.alpha", "must be between 0 and 1")
	}
	if d.Beta < 0 || d.Beta > 1 {
		add("db.beta", "must be between 0 and 1")
	}
	if d.TargetUtilization < 0 || d.TargetUtilization > 1 {
		add("db.target_utilization", "must be between 0 and 1")
	}
	if d.Reshard < 0 {
		add("db.reshard", "must be ≥ 0")
	}
	if d.QueryTime < 0 {
		add("db.query_time", "must be ≥ 0")
	}
	for i, st := range d.Schedule {
		if st.Shards < 1 || (d.MaxShards > 0 && st.Shards > d.MaxShards) {
			add(fmt.Sprintf("db.schedule[%d].shards", i), "must be between 1 and db.max_shards")
		}
		if i > 0 && st.At < d.Schedule[i-1].At {
			add(fmt.Sprintf("db.schedule[%d].at", i), "steps must be in time order")
		}
	}
}

func checkBreaker(b *CircuitBreaker, add func(path, format string, args ...any)) {
	if b == nil {
		return
	}
	if b.ErrorRate <= 0 || b.ErrorRate > 1 {
		add("circuit_breaker.error_rate", "must be in (0, 1]")
	}
	if b.Window < 0 {
		add("circuit_breaker.window", "must be ≥ 0")
	}
	if b.Open < 0 {
		add("circuit_breaker.open", "must be ≥ 0")
	}
	if b.MinRequests < 0 {
		add("circuit_breaker.min_requests", "must be ≥ 0")
	}
}

func checkAutoscaler(a *Autoscaler, replicas int, add func(path, format string, args ...any)) {
	if a == nil {
		return
	}
	switch a.Type {
	case "", "hpa", "kpa", "fixed", "scheduled":
	default:
		add("autoscaler.type", "must be hpa, kpa, fixed or scheduled, not %q", a.Type)
	}
	if a.TargetUtilization < 0 || a.TargetUtilization > 1 {
		add("autoscaler.target_utilization", "must be in (0, 1]")
	}
	if a.Min < 0 || (a.Min == 0 && a.Type != "" && a.Type != "fixed" && replicas == 0) {
		add("autoscaler.min", "must be ≥ 1")
	}
	if a.Max != 0 && a.Max < a.Min {
		add("autoscaler.max", "must be ≥ autoscaler.min (%d)", a.Min)
	}
	if a.Startup < 0 {
		add("autoscaler.startup", "must be ≥ 0")
	}
	if a.Type == "scheduled" && len(a.Schedule) == 0 {
		add("autoscaler.schedule", "a scheduled autoscaler needs at least one step")
	}
	for i, st := range a.Schedule {
		if st.Replicas < 1 {
			add(fmt.Sprintf("autoscaler.schedule[%d].replicas", i), "must be ≥ 1")
		}
		if st.At < 0 {
			add(fmt.Sprintf("autoscaler.schedule[%d].at", i), "must be ≥ 0")
		}
		if i > 0 && st.At < a.Schedule[i-1].At {
			add(fmt.Sprintf("autoscaler.schedule[%d].at", i), "steps must be in time order")
		}
	}
}

func checkPush(p *Push, add func(path, format string, args ...any)) {
	if p.ConnsPerReplica < 0 {
		add("push.conns_per_replica", "must be ≥ 1")
	}
	if p.Cores < 0 {
		add("push.cores", "must be ≥ 1")
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"fanout_cost", p.FanoutCost}, {"connect_cost", p.ConnectCost}, {"interval", p.Interval}, {"reaction", p.Reaction}} {
		if d.v < 0 {
			add("push."+d.name, "must be ≥ 0")
		}
	}
	if p.TargetUtilization < 0 || p.TargetUtilization > 1 {
		add("push.target_utilization", "must be between 0 and 1")
	}
	if p.BuyShare != nil && (*p.BuyShare < 0 || *p.BuyShare > 1) {
		add("push.buy_share", "must be between 0 and 1")
	}
}
