package rehearse

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target/inventory"
)

// faultSale is a short sale with a large stock (purchases keep being acknowledged through the
// fault) and the faults given.
func faultSale(t *testing.T, rate, dur, faults string) *scenario.Scenario {
	t.Helper()
	src := `name: fault-sale
seed: 7
duration: DUR
skus:
  - {sku: mug, stock: 1000000, price: 20, cost: 10}
traffic:
  arrivals: uniform
  start_rps: RATE
  stages: [{duration: DUR, rps: RATE}]
users: 1000000
journeys:
  - name: buyer
    steps: [{purchase: {sku: mug}}]
faults:
` + faults
	s, err := scenario.Parse("fault-sale.yaml", []byte(strings.NewReplacer("RATE", rate, "DUR", dur).Replace(src)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rehearseFaults(t *testing.T, s *scenario.Scenario, o Options) *result.Summary {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o.Scenario, o.NoSim, o.Out = s, true, t.TempDir() // stores in the system's temp dir: PostgreSQL's user must enter it
	o.Stdout, o.Stderr = &stdout, &stderr
	res, err := Run(context.Background(), o)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Rehearsals[0].Live.Summary
	if len(sum.Faults) != len(s.Faults) {
		t.Fatalf("faults %+v", sum.Faults)
	}
	for _, f := range sum.Faults {
		if !f.OK {
			t.Fatalf("fault not applied: %+v", f)
		}
	}
	if !sum.Audit.Checked {
		t.Fatalf("audit not checked: %s", sum.Audit.Error)
	}
	return sum
}

// TestRedisRestartPersistence: redis-lua with Redis killed and started again mid-run. With AOF
// and appendfsync always nothing acknowledged is lost; without persistence the audit reports
// the loss (the checker can fail).
func TestRedisRestartPersistence(t *testing.T) {
	needStore(t, inventory.Redis)
	for _, fsync := range []string{"always", "no"} {
		t.Run("appendfsync-"+fsync, func(t *testing.T) {
			s := faultSale(t, "200", "2s", "  - {at: 50%, redis: restart}\n")
			sum := rehearseFaults(t, s, Options{Strategies: []string{"redis-lua"}, RedisAppendfsync: fsync})
			a := sum.Audit
			t.Logf("audit %+v codes %v", a, sum.Requests.ByCode)
			switch fsync {
			case "always":
				if a.Lost != 0 || a.Oversold != 0 || a.Sold == 0 {
					t.Errorf("AOF always: %+v", a)
				}
			case "no":
				if a.Lost == 0 {
					t.Errorf("a Redis without persistence restarted mid-run lost nothing: %+v", a)
				}
				if _, pass, _ := result.EvaluateGates(sum, []string{"lost == 0"}); pass {
					t.Error("gate lost == 0 passed")
				}
			}
		})
	}
}

// TestNetworkLatencyToRedis: latency on the link to Redis for a stretch of the run raises the
// p99 of the windows it covers and it falls back after.
func TestNetworkLatencyToRedis(t *testing.T) {
	needStore(t, inventory.Redis)
	s := faultSale(t, "100", "6s", "  - {at: 2s, for: 2s, network: {to: redis, latency: 300ms}}\n")
	sum := rehearseFaults(t, s, Options{Strategies: []string{"redis-lua"}})
	var during, after float64
	for _, p := range sum.Timeline {
		switch {
		case len(p.Faults) > 0 && p.T >= 2.5 && p.T < 3.5:
			during = max(during, p.P99Ms)
		case p.T >= 5:
			after = max(after, p.P99Ms)
		}
	}
	t.Logf("p99 during %.1fms after %.1fms; audit %+v", during, after, sum.Audit)
	if during < 300 || after >= 300 {
		t.Errorf("p99 during the latency %.1fms (want ≥ 300ms), after %.1fms (want < 300ms)", during, after)
	}
	if sum.Audit.Lost != 0 || sum.Audit.Oversold != 0 {
		t.Errorf("audit %+v", sum.Audit)
	}
}

// TestNetworkPartitionToRedis: a partition between the target and Redis answers 503
// STORE_UNAVAILABLE, counts nothing as sold that was not acknowledged, and the target recovers
// without a restart.
func TestNetworkPartitionToRedis(t *testing.T) {
	needStore(t, inventory.Redis)
	s := faultSale(t, "100", "5s", "  - {at: 1s, for: 2s, network: {to: store, partition: true}}\n")
	sum := rehearseFaults(t, s, Options{Strategies: []string{"redis-lua"}})
	a := sum.Audit
	t.Logf("audit %+v codes %v", a, sum.Requests.ByCode)
	if sum.Requests.ByCode["STORE_UNAVAILABLE"] == 0 {
		t.Errorf("no STORE_UNAVAILABLE during the partition: %v", sum.Requests.ByCode)
	}
	if a.Lost != 0 || a.Oversold != 0 || a.Unexpected != 0 || a.Duplicates != 0 {
		t.Errorf("audit %+v", a)
	}
	last := sum.Timeline[len(sum.Timeline)-1]
	if last.Errors != 0 || last.Requests == 0 {
		t.Errorf("no recovery: last window %+v", last)
	}
}

// TestFaultStoreMismatch: a postgres fault with --strategy redis-lua is bad input at its line;
// in a shoot-out the strategy is skipped.
func TestFaultStoreMismatch(t *testing.T) {
	s := faultSale(t, "10", "2s", "  - {at: 50%, postgres: restart}\n")
	_, err := Run(context.Background(), Options{Scenario: s, Strategies: []string{"redis-lua"}, NoSim: true, Out: t.TempDir()})
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "fault-sale.yaml:15:5: faults[0]: postgres:restart needs a store strategy redis-lua does not use (no postgres)") {
		t.Fatalf("err %v", err)
	}
	kept, skipped, err := fitFaults(s, Options{}, []string{"redis-lua", "pg-row", "memory"})
	if err != nil || len(kept) != 1 || kept[0] != "pg-row" || len(skipped) != 2 || skipped[0].Reason != "no postgres" {
		t.Fatalf("kept %v skipped %v err %v", kept, skipped, err)
	}
}
