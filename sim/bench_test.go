package sim

import (
	"context"
	"math"
	"testing"

	"github.com/flashload/flashload/scenario"
)

// BenchmarkDoubleElevenDay simulates the bundled 24-hour double-eleven (350k/s at the peak) in
// the fluid mode. The goal is one day in at most 10 s; "x-realtime" is virtual seconds per
// wall second (≥ 8640 meets it).
func BenchmarkDoubleElevenDay(b *testing.B) {
	s, err := scenario.Load("double-eleven")
	if err != nil {
		b.Fatal(err)
	}
	benchDay(b, s, ModeFluid)
}

// BenchmarkDoubleElevenDayRequest simulates the same 24 hours request by request on the
// double-eleven scaled down a thousandfold (scaledDown: 350/s at the peak, about 2.4 million
// arrivals): the whole job the event kernel and the curve's inverse serve.
func BenchmarkDoubleElevenDayRequest(b *testing.B) {
	s, err := scenario.Load("double-eleven")
	if err != nil {
		b.Fatal(err)
	}
	scaledDown(s, 1000)
	benchDay(b, s, ModeRequest)
}

func benchDay(b *testing.B, s *scenario.Scenario, mode string) {
	b.ReportAllocs()
	var requests, events int64
	var virtual float64
	cpu0 := cpuTime()
	for b.Loop() {
		sm, err := Prepare(s, Options{Mode: mode})
		if err != nil {
			b.Fatal(err)
		}
		run, err := sm.Run(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		requests += run.Summary.Requests.Total
		virtual += run.Summary.DurationS
		events += sm.Events()
	}
	el := b.Elapsed().Seconds()
	b.ReportMetric(el/float64(b.N), "s/day")
	b.ReportMetric(virtual/el, "x-realtime")
	b.ReportMetric(float64(requests)/el, "requests/s")
	// On a shared machine wall time includes other processes' turns: CPU time does not.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/day")
		if events > 0 {
			// The whole job's events per CPU second, beside the kernel's own (BenchmarkKernel):
			// what the model costs on top of the queue.
			b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
		}
	}
}

// scaledDown divides a scenario's traffic and its model's capacity by k: the rates, the
// replicas (at least one), the workers and cores per replica (by k over the replicas' share,
// at least one), the database's capacity (its shards first, then each shard's rate) and the
// shedding threshold. Service times, the journeys and the schedule's timing stay.
func scaledDown(s *scenario.Scenario, k float64) {
	s.Traffic.StartRPS /= k
	for i := range s.Traffic.Stages {
		s.Traffic.Stages[i].RPS /= k
		s.Traffic.Stages[i].Peak /= k
	}
	m := s.Model
	if m == nil {
		return
	}
	count := func(n int, by float64) int { return max(1, int(math.Round(float64(n)/by))) }
	rk := float64(max(m.Replicas, 1)) // the replicas take up to their own count of k
	if a := m.Autoscaler; a != nil && a.Min > 0 {
		rk = float64(a.Min)
	}
	rk = min(rk, k)
	m.Replicas = count(m.Replicas, rk)
	if a := m.Autoscaler; a != nil {
		a.Min, a.Max = count(a.Min, rk), count(a.Max, rk)
		for i := range a.Schedule {
			a.Schedule[i].Replicas = count(a.Schedule[i].Replicas, rk)
		}
	}
	m.WorkersPerReplica = count(m.WorkersPerReplica, k/rk)
	m.CoresPerReplica = count(m.CoresPerReplica, k/rk)
	if d := m.DB; d != nil {
		sk := min(float64(max(d.Shards, 1)), k)
		d.Shards, d.MaxShards = count(d.Shards, sk), count(d.MaxShards, sk)
		for i := range d.Schedule {
			d.Schedule[i].Shards = count(d.Schedule[i].Shards, sk)
		}
		d.ShardCapacityRPS /= k / sk
	}
	m.ShedAboveRPS /= k
}
