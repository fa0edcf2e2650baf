package rehearse

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// TestStockScalesWithTheTraffic: a live run whose stages play at different compressions sells
// its flash SKU out at the scenario moment the full-scale simulation does (within 10% of the
// time from the start), because its stock is scaled by the share of the full-scale arrivals it
// plays up to that moment (scenario.Play.StockScale). The rate scale alone (the former rule)
// would give it 2400 phones, which its 700 rushers never sell out.
func TestStockScalesWithTheTraffic(t *testing.T) {
	src := `name: stock-scale
stock_rule: arrivals
duration: 20s
compress: 10
rate_scale: 0.2
skus:
  - {sku: phone, stock: 12000, price: 1, limit_per_user: 1}
  - {sku: bulk, stock: 100000000, price: 1}
traffic:
  arrivals: uniform
  start_rps: 2000
  stages: [{duration: 10s, rps: 2000}, {duration: 10s, rps: 2000, compress: 4}]
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
	// 1 s of wall time for the first stage, 2.5 s for the second.
	live, err := engine.Run(context.Background(), s, engine.Options{Target: tgt.URL(), AdminToken: tgt.AdminToken(), Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	played, err := sim.Run(context.Background(), s, sim.Options{Played: true})
	if err != nil {
		t.Fatal(err)
	}
	full, err := sim.Run(context.Background(), s, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Full scale: 1000 rushers per second take 12,000 phones by 12 s. Played: 400 arrivals in
	// the first stage, 200 more by 12 s, of 24,000 at full scale: 300 phones; the bulk SKU's
	// share is the whole run's, 400 + 1000 of 40,000 arrivals.
	l, p, f := live.Summary.SKUs, played.Summary.SKUs, full.Summary.SKUs
	if len(l) != 2 || l[0].SKU != "phone" || l[0].Stock != 300 || l[1].Stock != 3500000 || len(p) != 2 || p[0].Stock != 300 || len(f) != 2 || f[0].Stock != 12000 {
		t.Fatalf("live skus %+v, played %+v, full %+v: want phone 300 (12,000 at full scale), bulk 3,500,000", l, p, f)
	}
	if l[0].SoldOutAtS == nil || p[0].SoldOutAtS == nil || f[0].SoldOutAtS == nil {
		t.Fatalf("phone did not sell out: live %v played %v full %v", l[0].SoldOutAtS, p[0].SoldOutAtS, f[0].SoldOutAtS)
	}
	lt, pt, ft := *l[0].SoldOutAtS, *p[0].SoldOutAtS, *f[0].SoldOutAtS
	t.Logf("phone sold out at %.2fs live, %.2fs simulated played, %.2fs simulated full scale (scenario time)", lt, pt, ft)
	if math.Abs(lt-ft) > 0.1*ft || math.Abs(pt-ft) > 0.1*ft {
		t.Errorf("live sold out at %.2fs, played at %.2fs, full scale at %.2fs: more than 10%% apart", lt, pt, ft)
	}
}

// sellsOutWithTheFullScale is the check of the stock-scaling rule on the bundled
// double-eleven s, rehearsed as `flashload rehearse --wall WALL` does (memory target, the default
// rule: the rate scale): the phone's flash sale opens at midnight (starts_at "+1h"), so the live
// run (200 phones at 1% of the traffic) and the full-scale simulation (20,000) both sell it out
// in the midnight spike, within 10% of each other measured from the scenario's start, and neither
// before the sale opens; the evening's buyers are answered NOT_STARTED live and in both
// simulations. Measured from the opening the moments are far apart (about 30 s live, 2 s at full
// scale at --wall 20s): see docs/scenarios.md, "Stock scales with the traffic".
func sellsOutWithTheFullScale(t *testing.T, s *scenario.Scenario, wall time.Duration) {
	res, err := Run(context.Background(), Options{Scenario: s, Wall: wall, Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rehearsals) != 1 || res.Rehearsals[0].Full == nil || res.Rehearsals[0].Played == nil {
		t.Fatalf("rehearsals %+v: want one, with its simulations", res.Rehearsals)
	}
	r := res.Rehearsals[0]
	const opens = 3600.0 // "+1h"
	moment := func(what string, sum *result.Summary) float64 {
		t.Helper()
		i := slices.IndexFunc(sum.SKUs, func(k result.SKUStats) bool { return k.SKU == "phone-x" })
		if i < 0 || sum.SKUs[i].SoldOutAtS == nil {
			t.Fatalf("%s: phone-x did not sell out: %+v", what, sum.SKUs)
		}
		if sum.Requests.ByCode[codes.NotStarted] == 0 {
			t.Errorf("%s: no purchase answered NOT_STARTED before the opening: %v", what, sum.Requests.ByCode)
		}
		at := *sum.SKUs[i].SoldOutAtS
		if at < opens {
			t.Errorf("%s: phone-x sold out at %.3fs, before the sale opens at %.0fs", what, at, opens)
		}
		return at
	}
	lt, pt, ft := moment("live", r.Live.Summary), moment("played", r.Played.Summary), moment("full scale", r.Full.Summary)
	t.Logf("phone-x sold out at %.3fs live, %.3fs simulated at the played scale, %.3fs at full scale (scenario time; %.3fs, %.3fs, %.3fs after the opening)",
		lt, pt, ft, lt-opens, pt-opens, ft-opens)
	if math.Abs(lt-ft) > 0.1*ft {
		t.Errorf("live sold out at %.3fs, full scale at %.3fs: more than 10%% apart", lt, ft)
	}
}
