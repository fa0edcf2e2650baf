package rehearse

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/scenario/engine"
	"github.com/flashload/flashload/sim"
)

// TestStockScalesWithTheTraffic: a live run that plays a tenth of the amplitude sells a tenth of
// the stock (rounded up), and its flash SKU sells out at the scenario moment the simulator at the
// same played scale predicts, within 10% of the time from the start. (The full-scale comparison
// on the bundled double-eleven is in docs/scenarios.md: per scenario second a compressed run
// plays rate_scale / compress of the arrivals, so it only matches where compress is 1.)
func TestStockScalesWithTheTraffic(t *testing.T) {
	src := `name: stock-scale
duration: 20s
compress: 10
rate_scale: 0.1
skus:
  - {sku: phone, stock: 5000, price: 1, limit_per_user: 1}
  - {sku: bulk, stock: 100000000, price: 1}
traffic: {arrivals: uniform, start_rps: 10000, stages: [{duration: 20s, rps: 10000}]}
users: 10000000
journeys:
  - {name: rusher, weight: 1, steps: [{purchase: {sku: phone}}]}
  - {name: shopper, weight: 1, steps: [{purchase: {sku: bulk}}]}
model: {replicas: 4, workers_per_replica: 64, service_time: {dist: deterministic, mean: 1ms}}
`
	s, err := scenario.Parse("stock-scale.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := StartTarget(context.Background(), TargetOptions{Strategy: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Stop(context.Background())
	po := scenario.PlayOptions{Wall: 2 * time.Second}
	live, err := engine.Run(context.Background(), s, engine.Options{Target: tgt.URL(), AdminToken: tgt.AdminToken(), Setup: true, Play: po, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	played, err := sim.Run(context.Background(), s, sim.Options{Played: true, Wall: po.Wall})
	if err != nil {
		t.Fatal(err)
	}
	l, p := live.Summary.SKUs, played.Summary.SKUs
	if len(l) != 2 || l[0].SKU != "phone" || l[0].Stock != 500 || l[1].Stock != 10000000 || len(p) != 2 || p[0].Stock != 500 {
		t.Fatalf("live skus %+v, simulated %+v: want phone 500, bulk 10,000,000 (a tenth)", l, p)
	}
	if l[0].SoldOutAtS == nil || p[0].SoldOutAtS == nil {
		t.Fatalf("phone did not sell out: live %v simulated %v", l[0].SoldOutAtS, p[0].SoldOutAtS)
	}
	// 500 rushers per wall second, 10 scenario seconds per wall second: 500 units last until about 10 s.
	lt, pt := *l[0].SoldOutAtS, *p[0].SoldOutAtS
	t.Logf("phone sold out at %.2fs live, %.2fs simulated (scenario time)", lt, pt)
	if math.Abs(lt-pt) > 0.1*pt {
		t.Errorf("live sold out at %.2fs, simulated at %.2fs: more than 10%% apart", lt, pt)
	}
}
