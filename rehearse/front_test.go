package rehearse

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/testenv"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target/inventory"
)

// spreadRamp is the short version of the bundled autoscale-spread: 7 scenario minutes in 7 s,
// 40 → 240 → 30/s on replicas of 100/s (2 slots of exp 20 ms) scaled 1..3. A replica takes a
// minute (1 s) to start, so the engine's 48 connections (16 per replica of the smallest fleet,
// over the largest) have all opened, at 40/s, before any added replica is ready: a connection
// first opened after a replica joined may reach it, one opened before never does.
const spreadRamp = `name: spread-ramp
seed: 3
duration: 7m
compress: 60
skus: [{sku: mug, stock: 10000000, price: 20}]
traffic:
  arrivals: uniform
  start_rps: 40
  stages:
    - {duration: 1m, rps: 40}
    - {duration: 1m, rps: 240}
    - {duration: 3m, rps: 240}
    - {duration: 1m, rps: 30}
    - {duration: 1m, rps: 30}
journeys: [{name: viewer, steps: [{view: {sku: mug}}]}]
model:
  mode: request
  workers_per_replica: 2
  service_time: {dist: exponential, mean: 20ms}
  autoscaler: {type: hpa, target_utilization: 0.7, min: 1, max: 3, startup: 60s}
`

// lateShare is the answers and mean fair share of the replicas that became ready during the run.
func lateShare(s *result.Summary) (answers int64, fair float64, n int) {
	for _, rs := range s.Requests.ByReplica {
		if len(rs.Ready) > 0 && rs.Ready[0].FromS > 0 {
			answers += rs.Count
			fair += rs.Fair
			n++
		}
	}
	if n > 0 {
		fair /= float64(n)
	}
	return answers, fair, n
}

// TestFrontL4 (rehearse --replicas 1..3 --workers 2 --work exp:20ms --front l4, short): behind
// the layer-4 front the replicas the autoscaler adds at the peak answer nothing while the
// engine's connections stay open, and the played simulation predicts the same; with
// --conn-max-age 500ms (30 s of scenario time) they take their share. Every replica's answers
// are counted from its X-Flashload-Replica header, with its ready spans from the autoscaler.
func TestFrontL4(t *testing.T) {
	needStore(t, inventory.Redis)
	s, err := scenario.Parse("spread-ramp.yaml", []byte(spreadRamp))
	if err != nil {
		t.Fatal(err)
	}
	for _, age := range []time.Duration{0, 500 * time.Millisecond} {
		out := filepath.Join(t.TempDir(), "run")
		var stdout, stderr bytes.Buffer
		res, err := Run(context.Background(), Options{Scenario: s, Strategies: []string{"redis-lua"},
			Replicas: 1, MaxReplicas: 3, Work: "exp:20ms", Target: TargetOptions{Workers: 2}, Front: FrontL4, ConnMaxAge: age,
			Binary: testenv.FlashloadBinary(t), Out: out, StoreDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr})
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		if !strings.Contains(stderr.String(), "behind a layer-4 front") {
			t.Errorf("stderr does not say the fleet is behind the front:\n%s", stderr.String())
		}
		live := res.Rehearsals[0].Live.Summary
		played := res.Rehearsals[0].Played.Summary
		answers, fair, n := lateShare(live)
		pAnswers, pFair, pn := lateShare(played)
		spread, _ := result.ReplicaSpread(live)
		t.Logf("conn-max-age %s: %d late replicas, %d answers, fair %.2f, replica_spread %.2f (predicted: %d, %d answers, fair %.2f); errors %v",
			age, n, answers, fair, spread, pn, pAnswers, pFair, live.Requests.ByError)
		if n == 0 || pn == 0 {
			t.Fatalf("no replica joined during the run (live %d, predicted %d): by_replica %+v", n, pn, live.Requests.ByReplica)
		}
		if rs := live.Requests.ByReplica[ReplicaID(0)]; rs.Count == 0 || len(rs.Ready) == 0 || rs.Ready[0].FromS != 0 {
			t.Errorf("replica-0 %+v: want answers and ready from the start", rs)
		}
		if age == 0 {
			if answers != 0 || pAnswers != 0 {
				t.Errorf("without recycling the late replicas answered %d requests (predicted %d), want none", answers, pAnswers)
				for id, rs := range played.Requests.ByReplica {
					t.Logf("predicted %s: %d answers, ready %v", id, rs.Count, rs.Ready)
				}
			}
			continue
		}
		if fair < 0.4 || pFair < 0.4 {
			t.Errorf("recycled at %s the late replicas took %.2f of their fair share (predicted %.2f), want at least 0.4", age, fair, pFair)
		}
	}
}

// TestFrontBadInput: --front l4 without a fleet, an unknown front and negative recycling are
// bad input, refused before anything starts.
func TestFrontBadInput(t *testing.T) {
	s, err := scenario.Parse("spread-ramp.yaml", []byte(spreadRamp))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Front: FrontL4},
		{Front: "l7", Replicas: 2},
		{Replicas: 2, ConnMaxAge: -time.Second},
		{Replicas: 2, ConnMaxRequests: -3},
	} {
		o.Scenario = s
		_, err := Run(context.Background(), o)
		if _, ok := err.(*InputError); !ok {
			t.Errorf("%+v: %v, want an InputError", o, err)
		}
	}
}
