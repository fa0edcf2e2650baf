package rehearse

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target/inventory"
)

const rampScenario = `name: ramp
seed: 3
duration: 14m
compress: 120
skus: [{sku: mug, stock: 10000000, price: 20}]
traffic:
  arrivals: uniform
  start_rps: 40
  stages:
    - {duration: 1m, rps: 40}
    - {duration: 1m, rps: 240}
    - {duration: 2m, rps: 240}
    - {duration: 1m, rps: 30}
    - {duration: 9m, rps: 30}
users: 1000000
journeys:
  - {name: buyer, steps: [{purchase: {sku: mug}}]}
model:
  workers_per_replica: 2
  service_time: {dist: exponential, mean: 20ms}
  autoscaler: {type: hpa, target_utilization: 0.7, min: 1, max: 4, startup: 30s}
gates: ["oversold == 0"]
`

// TestRunAutoscaled: rehearse --replicas 1..4 --workers 2 --work exp:20ms on a ramp 40 → 240
// → 30 requests/s (a replica serves 100/s; the HPA aims at 70%): the fleet scales up from one
// replica to at least three, the requests reach them (nothing fails), and after the peak and
// the 5-minute scale-down stabilisation (2.5 s of wall time here, followed by 4 more minutes of
// low traffic, so a loaded machine's late decisions still land) it is back at two at most.
func TestRunAutoscaled(t *testing.T) {
	needStore(t, inventory.Redis)
	s, err := scenario.Parse("ramp.yaml", []byte(rampScenario))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Options{Scenario: s, Strategies: []string{"redis-lua"},
		Replicas: 1, MaxReplicas: 4, Work: "exp:20ms", Target: TargetOptions{Workers: 2},
		Binary: testenv.FlashloadBinary(t), NoSim: true, Out: out, StoreDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr})
	if err != nil || len(res.Failed()) > 0 {
		t.Fatalf("%v, failed %v\nstdout:\n%s\nstderr:\n%s", err, res.Failed(), stdout.String(), stderr.String())
	}
	tr := res.Rehearsals[0].Scale
	for _, p := range tr {
		t.Logf("t=%5.0fs util %3.0f%% ready %d → %d", p.T.Seconds(), p.Util*100, p.Ready, p.Desired)
	}
	sum := readSummary(t, out)
	if len(sum.Scale) != len(tr) {
		t.Errorf("summary.json has %d scale decisions, the autoscaler made %d", len(sum.Scale), len(tr))
	}
	if sum.Replicas.Min != 1 || sum.Replicas.Max < 3 {
		t.Errorf("replicas %+v: want from 1 up to at least 3", sum.Replicas)
	}
	if len(tr) == 0 || tr[len(tr)-1].Ready > 2 {
		t.Errorf("the fleet did not scale back down after the peak")
	}
	if sum.Requests.Errors > 0 {
		t.Errorf("%d errors (%v): scaling must not fail requests", sum.Requests.Errors, sum.Requests.ByError)
	}
	last := sum.Timeline[len(sum.Timeline)-1]
	if last.Replicas < 1 || last.Replicas > 2 {
		t.Errorf("the timeline ends at %d replicas, want 1 or 2", last.Replicas)
	}
}

// FuzzParseReplicas: --replicas never panics, and what it accepts is 0 ≤ MIN ≤ MAX, with
// MIN ≥ 1 for a range.
func FuzzParseReplicas(f *testing.F) {
	for _, s := range []string{"3", "2..6", "0", "1..1", "6..2", "..", "a..b", " 2 .. 4 ", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		lo, hi, err := ParseReplicas(v)
		if err != nil {
			return
		}
		if lo < 0 || hi < lo || (hi > lo && lo < 1) {
			t.Fatalf("%q → %d..%d accepted", v, lo, hi)
		}
	})
}
