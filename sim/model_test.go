package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/result"
)

func both(t *testing.T, yaml string, check func(t *testing.T, mode string, s *result.Summary)) {
	t.Helper()
	s := mustParse(t, yaml)
	for _, mode := range []string{ModeRequest, ModeFluid} {
		t.Run(mode, func(t *testing.T) { check(t, mode, runMode(t, s, mode).Summary) })
	}
}

func TestStockSellsOutThenCheap(t *testing.T) {
	both(t, `
name: sellout
duration: 10s
traffic: {start_rps: 1000, stages: [{duration: 10s, rps: 1000}]}
skus: [{sku: a, stock: 500, price: 1}]
journeys: [{name: buyer, steps: [{purchase: {sku: a}}, {pay: {probability: 1}}]}]
model:
  replicas: 4
  workers_per_replica: 16
  service_time: {dist: deterministic, mean: 20ms}
  cache: {hit_time: 1ms}
gates: ["p(99) < 1s"]
`, func(t *testing.T, mode string, s *result.Summary) {
		if got := s.Requests.ByCode["RESERVED"]; got != 500 {
			t.Errorf("reserved %d, want the stock, 500", got)
		}
		if s.Audit.Sold != 500 || s.Audit.Oversold != 0 || s.Audit.Stock != 500 {
			t.Errorf("audit %+v", s.Audit)
		}
		if got := s.Requests.ByCode["PAID"]; got != 500 {
			t.Errorf("paid %d, want 500 (pay only follows a reservation)", got)
		}
		if s.Requests.ByCode["SOLD_OUT"] < 9000 {
			t.Errorf("sold out answers %d, want the rest of ~10000", s.Requests.ByCode["SOLD_OUT"])
		}
		// Sold-out answers are cheap: the median is the 1 ms hit time, not the 20 ms of work.
		if s.LatencyMs.P50 > 2 {
			t.Errorf("median %.1f ms, want ~1 ms once sold out", s.LatencyMs.P50)
		}
		if r := s.Rates["pay_success"]; r.Den != 500 || r.Num != 500 {
			t.Errorf("pay_success %+v", r)
		}
		if r := s.Rates["purchase_success"]; r.Num != 500 || r.Den < 9500 {
			t.Errorf("purchase_success %+v, want 500 of ~10000 attempts", r)
		}
		if r := s.Rates["sell_through"]; r.Value != 1 {
			t.Errorf("sell_through %+v", r)
		}
	})
}

// Orders of two units take two units of stock: 501 units sell as 250 orders.
func TestQuantityTakesStock(t *testing.T) {
	both(t, `
name: qty
duration: 5s
traffic: {start_rps: 200, stages: [{duration: 5s, rps: 200}]}
skus: [{sku: a, stock: 501, price: 1}]
journeys: [{name: pair, steps: [{purchase: {sku: a, qty: 2}}]}]
model: {replicas: 2, workers_per_replica: 8, service_time: {dist: deterministic, mean: 5ms}}
gates: ["p(99) < 1s"]
`, func(t *testing.T, mode string, s *result.Summary) {
		if s.Requests.ByCode["RESERVED"] != 250 || s.Audit.Sold != 500 {
			t.Errorf("reserved %d orders, sold %d units; want 250 and 500", s.Requests.ByCode["RESERVED"], s.Audit.Sold)
		}
	})
}

func TestShedAboveRate(t *testing.T) {
	both(t, `
name: shed
duration: 20s
traffic: {start_rps: 2000, stages: [{duration: 20s, rps: 2000}]}
journeys: [{name: reader, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model:
  replicas: 10
  workers_per_replica: 16
  service_time: {dist: exponential, mean: 5ms}
  shed_above_rps: 500
gates: ["p(99) < 1s"]
`, func(t *testing.T, mode string, s *result.Summary) {
		share := float64(s.Requests.Shed) / float64(s.Requests.Total)
		near(t, mode+" shed share", share, 0.75, 0.03)
		if s.Requests.ByCode["SHED"] != s.Requests.Shed {
			t.Errorf("shed answers carry code SHED: %v", s.Requests.ByCode)
		}
	})
}

// Overload with a queue limit, a timeout and retries: the retries add load (a retry storm) and
// the breaker opens on the errors.
func TestRetryStormAndBreaker(t *testing.T) {
	both(t, `
name: storm
duration: 60s
traffic: {start_rps: 3000, stages: [{duration: 60s, rps: 3000}]}
skus: [{sku: a, stock: 100000000, price: 1}]
journeys: [{name: buyer, steps: [{purchase: {sku: a, retry: {on: [503, timeout], max: 3, backoff: 100ms}}}]}]
model:
  replicas: 2
  workers_per_replica: 8
  service_time: {dist: exponential, mean: 10ms}
  queue_limit: 50
  timeout: 200ms
  circuit_breaker: {error_rate: 0.5, window: 5s, open: 2s}
gates: ["p(99) < 1s"]
`, func(t *testing.T, mode string, s *result.Summary) {
		arrivals := 180000.0
		if float64(s.Requests.Total) < 1.5*arrivals {
			t.Errorf("total requests %d: retries should amplify the %v arrivals", s.Requests.Total, arrivals)
		}
		if s.Requests.Retries == 0 || s.Requests.ByCode["SHED"] == 0 {
			t.Errorf("want retries and shed answers: %+v", s.Requests)
		}
		t.Logf("%s: total %d retries %d codes %v errors %v", mode, s.Requests.Total, s.Requests.Retries, s.Requests.ByCode, s.Requests.ByError)
		if s.Requests.ByCode["CIRCUIT_OPEN"] == 0 {
			t.Errorf("the breaker never opened: %v", s.Requests.ByCode)
		}
	})
}

func TestHPAScalesInTheLoop(t *testing.T) {
	both(t, `
name: step
duration: 4m
traffic: {start_rps: 200, stages: [{duration: 1m, rps: 200}, {duration: 1s, rps: 1000}, {duration: 179s, rps: 1000}]}
journeys: [{name: reader, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model:
  workers_per_replica: 4
  service_time: {dist: exponential, mean: 10ms}
  autoscaler: {type: hpa, target_utilization: 0.5, min: 2, max: 40, startup: 20s}
gates: ["p(99) < 1s"]
`, func(t *testing.T, mode string, s *result.Summary) {
		t.Logf("%s: replicas %d..%d p99 %.1f", mode, s.Replicas.Min, s.Replicas.Max, s.LatencyMs.P99)
		// 1000/s × 10 ms = 10 busy cores; at 50% that is 20 cores = 5 replicas.
		if s.Replicas.Min != 2 || s.Replicas.Max < 5 || s.Replicas.Max > 8 {
			t.Errorf("replicas %d..%d, want 2..~5", s.Replicas.Min, s.Replicas.Max)
		}
		last := s.Timeline[len(s.Timeline)-2]
		if last.Replicas < 5 {
			t.Errorf("at the end %d replicas", last.Replicas)
		}
	})
}

func TestCancelIsPartial(t *testing.T) {
	s := mustParse(t, stationary)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run, err := Run(ctx, s, Options{Mode: ModeFluid})
	if !errors.Is(err, context.Canceled) || run == nil || !run.Summary.Partial {
		t.Fatalf("err %v run %v", err, run)
	}
}

func TestCalibrationFromALiveRun(t *testing.T) {
	// A "live" run whose service times are a lognormal: the calibrated simulation's service
	// time follows it, not the model's.
	rec := result.NewRecorder(result.RecorderOptions{Name: "live", Mode: "live"})
	sh := rec.Shard(0)
	src := LogNormalFromP50P99(0.004, 0.040)
	r := newTestRand()
	for i := 0; i < 50000; i++ {
		at := time.Duration(i) * time.Millisecond
		sh.Record(&result.Result{Intended: at, Sent: at, Done: at + time.Duration(src.Sample(r)*1e9), Step: "view", Status: 200})
	}
	dir := t.TempDir()
	if err := rec.Finish(50 * time.Second).Write(dir); err != nil {
		t.Fatal(err)
	}
	d, err := EmpiricalFromRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "calibrated p50", d.Quantile(0.5), 0.004, 0.03)
	near(t, "calibrated p99", d.Quantile(0.99), 0.040, 0.05)
	s := mustParse(t, stationary)
	run, err := Run(context.Background(), s, Options{Mode: ModeFluid, ServiceTime: d})
	if err != nil {
		t.Fatal(err)
	}
	// A calibration is the measured end-to-end time: it replaces the model's cache too, so every
	// view takes the calibrated time (little queueing at 26% utilisation).
	near(t, "calibrated mean latency", run.Summary.LatencyMs.Mean, d.Mean()*1000, 0.05)
	if _, err := EmpiricalFromRun(t.TempDir()); err == nil {
		t.Error("a directory without a run must be refused")
	}
	// The same calibration from the scenario file: service_time {dist: empirical, histogram: DIR}.
	y := strings.Replace(stationary, "service_time: {dist: lognormal, p50: 6ms, p99: 30ms}",
		"service_time: {dist: empirical, histogram: "+dir+"}", 1)
	fromFile, err := Run(context.Background(), mustParse(t, y), Options{Mode: ModeFluid})
	if err != nil {
		t.Fatal(err)
	}
	// From the file it is the model's base service time: half the views hit the cache (1 ms),
	// the other half take the empirical time.
	near(t, "empirical from the model", fromFile.Summary.LatencyMs.Mean, (1+d.Mean()*1000)/2, 0.05)
}

func TestKPAScalesInTheLoop(t *testing.T) {
	both(t, `
name: kpa-step
duration: 4m
traffic: {start_rps: 200, stages: [{duration: 1m, rps: 200}, {duration: 1s, rps: 1000}, {duration: 179s, rps: 1000}]}
journeys: [{name: reader, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model:
  workers_per_replica: 4
  service_time: {dist: exponential, mean: 10ms}
  autoscaler: {type: kpa, target_utilization: 0.5, min: 1, max: 40, startup: 5s}
gates: ["p(99) < 1s"]
`, func(t *testing.T, mode string, s *result.Summary) {
		t.Logf("%s: replicas %d..%d p99 %.1f", mode, s.Replicas.Min, s.Replicas.Max, s.LatencyMs.P99)
		// 1000/s × 10 ms = 10 requests in flight; 2 per pod (50% of 4 workers) = 5 pods. The
		// burst first queues on the one pod: the backlog counts as concurrency and panics the
		// autoscaler up to its max, then it settles.
		last := s.Timeline[len(s.Timeline)-2]
		if s.Replicas.Min > 2 || last.Replicas < 4 || last.Replicas > 8 {
			t.Errorf("replicas %d..%d, %d at the end; want ~1 before, ~5 after", s.Replicas.Min, s.Replicas.Max, last.Replicas)
		}
	})
}

// model.round_trip adds to every answer's latency and service time outside the workers: the
// same run with a 40 ms round trip answers exactly 40 ms later on average, and does not queue
// (were the round trip held in the one worker, 20/s of 50 ms would be its whole capacity).
func TestRoundTripAddsNoCapacity(t *testing.T) {
	const base = `
name: rtt
duration: 20s
traffic: {start_rps: 20, stages: [{duration: 20s, rps: 20}]}
journeys: [{name: viewer, steps: [{view: {sku: a}}]}]
skus: [{sku: a, stock: 1, price: 1}]
model: {replicas: 1, workers_per_replica: 1, service_time: {dist: deterministic, mean: 10ms}, cache: {hit_ratio: 0}%s}
gates: ["p(99) < 1s"]
`
	for _, mode := range []string{ModeRequest, ModeFluid} {
		t.Run(mode, func(t *testing.T) {
			without := runMode(t, mustParse(t, fmt.Sprintf(base, "")), mode).Summary
			with := runMode(t, mustParse(t, fmt.Sprintf(base, ", round_trip: 40ms")), mode).Summary
			if d := with.LatencyMs.Mean - without.LatencyMs.Mean; math.Abs(d-40) > 0.5 {
				t.Errorf("latency mean %.2f ms with the round trip, %.2f without: %.2f apart, want 40", with.LatencyMs.Mean, without.LatencyMs.Mean, d)
			}
			if d := with.ServiceTimeMs.Mean - without.ServiceTimeMs.Mean; math.Abs(d-40) > 0.5 {
				t.Errorf("service time mean %.2f ms with the round trip, %.2f without", with.ServiceTimeMs.Mean, without.ServiceTimeMs.Mean)
			}
			// The target's own time is reported beside a round trip only, and is the time without it.
			if without.ServerTimeMs != nil || with.ServerTimeMs == nil || math.Abs(with.ServerTimeMs.Mean-without.ServiceTimeMs.Mean) > 0.5 {
				t.Errorf("server time %+v with the round trip (want the %.2f ms service time without it), %+v without (want none)",
					with.ServerTimeMs, without.ServiceTimeMs.Mean, without.ServerTimeMs)
			}
			if d := with.LatencyMs.P99 - without.LatencyMs.P99; math.Abs(d-40) > 1 {
				t.Errorf("latency p99 %.2f ms with the round trip, %.2f without: %.2f apart, want 40", with.LatencyMs.P99, without.LatencyMs.P99, d)
			}
		})
	}
}
