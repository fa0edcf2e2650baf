package sim

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// durHeap is a min-heap of times (the FIFO queue's slot free times, or departures).
type durHeap []time.Duration

func (h durHeap) Len() int           { return len(h) }
func (h durHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h durHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *durHeap) Push(x any)        { *h = append(*h, x.(time.Duration)) }
func (h *durHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fifoRun records n Poisson arrivals at rate into a c-slot FIFO queue whose service times come
// from d, as the live engine records them: each result with its in-flight count at sending.
func fifoRun(t *testing.T, c int, rate float64, d Dist, n int, seed uint64) *result.Run {
	t.Helper()
	return fifoRunRTT(t, c, rate, d, n, seed, 0)
}

// fifoRunRTT is fifoRun with a round trip outside the queue: each answer reaches the client rtt
// after the queue is done with it, carrying the queue's own time as a target's Server-Timing
// would.
func fifoRunRTT(t *testing.T, c int, rate float64, d Dist, n int, seed uint64, rtt time.Duration) *result.Run {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	rec := result.NewRecorder(result.RecorderOptions{Name: "fifo", Mode: "live"})
	sh := rec.Shard(0)
	free := make(durHeap, c) // when each slot is next free
	var departures durHeap   // of requests still in the system
	var now time.Duration
	for range n {
		now += time.Duration(r.ExpFloat64() / rate * 1e9)
		for departures.Len() > 0 && departures[0] <= now {
			heap.Pop(&departures)
		}
		inFlight := int32(departures.Len() + 1)
		start := max(now, free[0])
		done := start + time.Duration(d.Sample(r)*1e9)
		free[0] = done
		heap.Fix(&free, 0)
		heap.Push(&departures, done+rtt)
		res := result.Result{Intended: now, Sent: now, Done: done + rtt, Status: 200, First: true, InFlight: inFlight}
		if rtt > 0 {
			res.Server = done - now
		}
		sh.Record(&res)
	}
	return rec.Finish(now)
}

func TestCalibrateFindsConcurrencyAndService(t *testing.T) {
	cases := []struct {
		name string
		c    int
		rho  float64
		d    Dist
		dist string
	}{
		{"8x exp 10ms at 50%", 8, 0.5, Exponential{MeanS: 0.010}, "exponential"},
		{"4x exp 20ms at 60%", 4, 0.6, Exponential{MeanS: 0.020}, "exponential"},
		{"16x const 5ms at 70%", 16, 0.7, Deterministic{Value: 0.005}, "deterministic"},
		{"8x lognormal 4/30ms at 50%", 8, 0.5, LogNormalFromP50P99(0.004, 0.030), "lognormal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rate := tc.rho * float64(tc.c) / tc.d.Mean()
			run := fifoRun(t, tc.c, rate, tc.d, 40000, 7)
			cal, err := Calibrate(run)
			if err != nil {
				t.Fatal(err)
			}
			if !cal.WorkersFound || cal.Workers != tc.c {
				t.Errorf("workers %d (found %v), want %d; %v", cal.Workers, cal.WorkersFound, tc.c, cal.Notes)
			}
			if cal.ServiceTime.Dist != tc.dist {
				t.Errorf("family %s, want %s; %v", cal.ServiceTime.Dist, tc.dist, cal.Notes)
			}
			if got, want := cal.Mean.Seconds(), tc.d.Mean(); math.Abs(got/want-1) > 0.03 {
				t.Errorf("unqueued mean %v, want %v within 3%%", cal.Mean, secs(want))
			}
			m := cal.Apply(&scenario.Model{WorkersPerReplica: 64, CoresPerReplica: 4, Cache: &scenario.Cache{HitRatio: 0.9}})
			if m.WorkersPerReplica != tc.c || m.CoresPerReplica != 0 || m.Cache == nil || m.Cache.HitRatio != 0 || m.Cache.HitTime.D() != cal.Mean || m.Replicas != 1 {
				t.Errorf("applied model %+v", m)
			}
		})
	}
}

// A target that never queues shows no knee: the concurrency is a lower bound, which never
// lowers the model's own.
func TestCalibrateNoKneeIsLowerBound(t *testing.T) {
	run := fifoRun(t, 1000, 200, Exponential{MeanS: 0.010}, 20000, 3)
	cal, err := Calibrate(run)
	if err != nil {
		t.Fatal(err)
	}
	if cal.WorkersFound {
		t.Fatalf("found %d workers in a run that never queued; %v", cal.Workers, cal.Notes)
	}
	if cal.Workers < 2 || cal.Workers > 20 {
		t.Errorf("lower bound %d, want the most in flight (a few)", cal.Workers)
	}
	if m := cal.Apply(&scenario.Model{WorkersPerReplica: 64}); m.WorkersPerReplica != 64 {
		t.Errorf("a lower bound replaced the model's 64 workers by %d", m.WorkersPerReplica)
	}
}

// The calibration carries over: fitted at 50% load, the simulator predicts the queue at 90%.
func TestCalibrationCarriesOver(t *testing.T) {
	d := Exponential{MeanS: 0.010}
	cal, err := Calibrate(fifoRun(t, 8, 400, d, 40000, 11))
	if err != nil {
		t.Fatal(err)
	}
	live := fifoRun(t, 8, 720, d, 60000, 12).Summary.LatencyMs
	q := MMc(cal.Workers, 720, 1/cal.Mean.Seconds())
	predP99 := q.SojournQuantile(0.99) * 1000
	if e := math.Abs(predP99/live.P99 - 1); e > 0.15 {
		t.Errorf("p99 at 90%% from the 50%% calibration: predicted %.1f ms, measured %.1f ms (%.0f%% off)", predP99, live.P99, e*100)
	}
	if !slices.Contains([]string{"exponential"}, cal.ServiceTime.Dist) {
		t.Errorf("family %s", cal.ServiceTime.Dist)
	}
}

// With the target's own time on every answer, the calibration reads the service time without
// the round trip and gives the round trip apart: a 0.25 ms round trip on a 10 ms service is 2.5%,
// which the client's times alone put into the service time (and so into the workers' capacity).
func TestCalibrateSubtractsTheRoundTrip(t *testing.T) {
	d := Exponential{MeanS: 0.010}
	rtt := 250 * time.Microsecond
	cal, err := Calibrate(fifoRunRTT(t, 8, 400, d, 40000, 7, rtt))
	if err != nil {
		t.Fatal(err)
	}
	if !cal.WorkersFound || cal.Workers != 8 {
		t.Errorf("workers %d (found %v), want 8; %v", cal.Workers, cal.WorkersFound, cal.Notes)
	}
	if got := cal.Mean.Seconds(); math.Abs(got/d.Mean()-1) > 0.02 {
		t.Errorf("unqueued mean %v, want 10ms within 2%% (the round trip left out); %v", cal.Mean, cal.Notes)
	}
	if math.Abs(cal.RoundTrip.Seconds()/rtt.Seconds()-1) > 0.01 {
		t.Errorf("round trip %v, want %v", cal.RoundTrip, rtt)
	}
	if m := cal.Apply(nil); m.RoundTrip.D() != cal.RoundTrip || m.ServiceTime.Mean.D() != cal.Mean {
		t.Errorf("applied model: round trip %v, service %v", m.RoundTrip.D(), m.ServiceTime.Mean.D())
	}

	// The same run with the target's times dropped: the round trip lands in the service time.
	run := fifoRunRTT(t, 8, 400, d, 40000, 7, rtt)
	for i := range run.Summary.Concurrency {
		run.Summary.Concurrency[i].ServerCount = 0
	}
	client, err := Calibrate(run)
	if err != nil {
		t.Fatal(err)
	}
	if client.RoundTrip != 0 || client.Mean-cal.Mean < rtt*9/10 {
		t.Errorf("from the client's times alone: service %v, round trip %v; want the round trip inside the service (%v + %v)",
			client.Mean, client.RoundTrip, cal.Mean, rtt)
	}
}

// A round trip that is most of the answer stays in the service time: the model's round trip is a
// constant, and the client's times keep the round trip's spread.
func TestCalibrateKeepsALongRoundTripInTheServiceTime(t *testing.T) {
	cal, err := Calibrate(fifoRunRTT(t, 8, 400, Exponential{MeanS: 0.001}, 20000, 5, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if cal.RoundTrip != 0 || cal.Mean < 2900*time.Microsecond {
		t.Errorf("service %v, round trip %v: want the 2 ms round trip inside a ~3 ms service time; %v", cal.Mean, cal.RoundTrip, cal.Notes)
	}
}
