package sim

import (
	"context"
	"testing"

	"github.com/flashload/flashload/scenario"
)

// TestSellOutPerSKU: both modes report the sale per SKU, flash SKUs first, and the moment the
// flash SKU sold out (scenario time), near where the arrivals exhaust its stock.
func TestSellOutPerSKU(t *testing.T) {
	src := `name: sellout
duration: 10s
skus:
  - {sku: bulk, stock: 1000000, price: 1}
  - {sku: phone, stock: 2000, price: 1, limit_per_user: 1}
traffic: {arrivals: uniform, start_rps: 1000, stages: [{duration: 10s, rps: 1000}]}
users: 1000000
journeys:
  - {name: rusher, weight: 1, steps: [{purchase: {sku: phone}}]}
  - {name: shopper, weight: 1, steps: [{purchase: {sku: bulk}}]}
model: {replicas: 4, workers_per_replica: 64, service_time: {dist: deterministic, mean: 1ms}}
`
	s, err := scenario.Parse("sellout.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{ModeFluid, ModeRequest} {
		run, err := Run(context.Background(), s, Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		ks := run.Summary.SKUs
		if len(ks) != 2 || ks[0].SKU != "phone" || !ks[0].Flash || ks[0].SoldOutAtS == nil || ks[1].SoldOutAtS != nil {
			t.Fatalf("%s: skus %+v", mode, ks)
		}
		// 500 purchases of phone per second: 2000 units last 4 s.
		t.Logf("%s: sold out at %.3f, requests %v", mode, *ks[0].SoldOutAtS, run.Summary.Requests.ByJourney)
		if at := *ks[0].SoldOutAtS; at < 3.5 || at > 5 {
			t.Errorf("%s: phone sold out at %.2fs, want about 4s", mode, at)
		}
		if ks[0].Sold != 2000 || ks[0].Left != 0 {
			t.Errorf("%s: phone %+v", mode, ks[0])
		}
	}
}
