package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

func pushModel(p scenario.Push) *scenario.Model { return &scenario.Model{Push: &p} }

// TestPlanWatchersMillion: how many replicas hold a million watchers, limit by limit, with the
// figures worked by hand.
func TestPlanWatchersMillion(t *testing.T) {
	m := pushModel(scenario.Push{ConnsPerReplica: 100000, FanoutCost: scenario.Duration(5 * time.Microsecond),
		ConnectCost: scenario.Duration(100 * time.Microsecond), Cores: 2, Interval: scenario.Duration(time.Second)})
	p, err := PlanWatchers(m, WatchersOptions{Watchers: 1000000, Arrive: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Connections: 1e6/1e5 = 10. Fan-out at 1 message/s: 1e6·5µs/2 cores = 2.5 s of a replica
	// per second, /0.7 → 4 replicas. Connects: 1e6/600 s·100µs/2 = 0.083, /0.7 → 1.
	if p.ByConns != 10 || p.ByFanout != 4 || p.ByConnects != 1 || p.Needed != 10 || p.Replicas != 10 {
		t.Fatalf("plan %+v", p)
	}
	// 100,000 each: one message in 100000·5µs/2 = 250 ms, the 99,000th watcher at 247.5 ms.
	if p.Fanout != 250*time.Millisecond || p.FanoutP99 != 247500*time.Microsecond || p.Utilization != 0.25 {
		t.Fatalf("fan-out %v p99 %v utilisation %v", p.Fanout, p.FanoutP99, p.Utilization)
	}
	// Herd: X ~ U[0, 0.25 s] + Y ~ U[0, 1 s] ≤ 1 s: 1 − 0.25²/(2·0.25) = 0.875 of a million.
	if math.Abs(p.HerdFirstSecond-875000) > 1e-6 || p.HerdPeakRate != 1e6 {
		t.Fatalf("herd first second %v, peak %v", p.HerdFirstSecond, p.HerdPeakRate)
	}
	// Ten messages a second (an interval of 100 ms lets them through) need ten times the
	// fan-out: 25 s/s /0.7 → 36 replicas.
	m.Push.Interval = scenario.Duration(100 * time.Millisecond)
	p, _ = PlanWatchers(m, WatchersOptions{Watchers: 1000000, Changes: 10})
	if p.ByFanout != 36 || p.Needed != 36 {
		t.Fatalf("at 10 changes/s: %+v", p)
	}
	// Forced onto 10 replicas they cannot keep up: watchers skip states.
	p, _ = PlanWatchers(m, WatchersOptions{Watchers: 1000000, Replicas: 10, Changes: 10})
	if p.Utilization != 2.5 || p.Wait != time.Duration(math.MaxInt64) {
		t.Fatalf("overloaded: %+v", p)
	}
	if _, err := PlanWatchers(m, WatchersOptions{Watchers: -1}); err == nil {
		t.Fatal("negative watchers accepted")
	}
}

// TestWatchersFanoutDeterministic: a replica's cores write one message to n watchers in
// turn; the 99th percentile receipt delay is the plan's FanoutP99 exactly.
func TestWatchersFanoutDeterministic(t *testing.T) {
	const n, cores = 1000, 2
	cost := 5 * time.Microsecond
	m := &scenario.Model{CoresPerReplica: cores, Push: &scenario.Push{FanoutCost: scenario.Duration(cost)}}
	p, err := PlanWatchers(m, WatchersOptions{Watchers: n, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	var delays []time.Duration
	for core := range cores {
		for j := 1; (j-1)*cores+core < n; j++ {
			delays = append(delays, time.Duration(j)*cost)
		}
	}
	slices.Sort(delays)
	p99 := delays[int(math.Ceil(0.99*n))-1]
	if p99 != p.FanoutP99 || delays[n-1] != p.Fanout {
		t.Fatalf("simulated p99 %v max %v, plan %v %v", p99, delays[n-1], p.FanoutP99, p.Fanout)
	}
}

// TestWatchersFanoutMD1: Poisson changes queueing behind a deterministic fan-out wait, on
// average, what the plan's M/D/1 formula says (Lindley's recursion over 200,000 messages).
func TestWatchersFanoutMD1(t *testing.T) {
	// 10,000 watchers on one core at 5 µs: D = 50 ms; 10 changes/s: ρ = 0.5, Wq = ρD/(2(1−ρ)) = 25 ms.
	m := pushModel(scenario.Push{FanoutCost: scenario.Duration(5 * time.Microsecond), Cores: 1})
	p, err := PlanWatchers(m, WatchersOptions{Watchers: 10000, Replicas: 1, Changes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Wait != 25*time.Millisecond {
		t.Fatalf("plan's wait %v, want 25ms", p.Wait)
	}
	rng := rand.New(rand.NewPCG(24, 1))
	d := p.Fanout.Seconds()
	var w, sum float64
	const msgs = 200000
	for range msgs {
		sum += w
		w = max(0, w+d-rng.ExpFloat64()/p.Messages)
	}
	mean := sum / msgs
	if math.Abs(mean-p.Wait.Seconds())/p.Wait.Seconds() > 0.03 {
		t.Fatalf("simulated mean wait %.4f s, M/D/1 %.4f s", mean, p.Wait.Seconds())
	}
}

// TestUniformSumCDF against sampling, and its corners.
func TestUniformSumCDF(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range []struct{ a, b, t float64 }{{0.25, 1, 1}, {1, 0.25, 0.2}, {0.5, 0.5, 0.7}, {2, 1, 1.5}, {0, 1, 0.3}} {
		const n = 400000
		in := 0
		for range n {
			if rng.Float64()*c.a+rng.Float64()*c.b <= c.t {
				in++
			}
		}
		if got := uniformSumCDF(c.a, c.b, c.t); math.Abs(got-float64(in)/n) > 0.005 {
			t.Fatalf("P(U[0,%v]+U[0,%v] ≤ %v) = %v, sampled %v", c.a, c.b, c.t, got, float64(in)/n)
		}
	}
	if uniformSumCDF(1, 1, 0) != 0 || uniformSumCDF(1, 1, 2) != 1 || uniformSumCDF(0, 0, 0.1) != 1 {
		t.Fatal("corners")
	}
}
