package scenario

import "testing"

// TestPlayedStock: the stock follows the played rate scale (rounded up, at least 1), the
// scenario's stock_scale overrides it, the full amplitude keeps the file's stock, and an
// unlimited stock stays unlimited.
func TestPlayedStock(t *testing.T) {
	s := &Scenario{Name: "x", RateScale: 0.01, SKUs: []SKU{{SKU: "phone", Stock: 20000, LimitPerUser: 1}, {SKU: "pin", Stock: 3}, {SKU: "any"}},
		Traffic: Traffic{StartRPS: 100, Stages: []Stage{{Duration: Duration(10e9), RPS: 100}}}}
	for _, c := range []struct {
		rate, stockScale float64
		want             []int64
	}{
		{0, 0, []int64{200, 1, 0}},      // the file's rate_scale, 0.01
		{1, 0, []int64{20000, 3, 0}},    // full scale (the simulator)
		{0.1, 0, []int64{2000, 1, 0}},   // --rate-scale 0.1: 0.3 rounds up to 1
		{0.5, 0, []int64{10000, 2, 0}},  // 1.5 rounds up
		{0.01, 1, []int64{20000, 3, 0}}, // stock_scale: 1 keeps the stock live
		{0.01, 0.5, []int64{10000, 2, 0}},
		{1, 0.5, []int64{20000, 3, 0}}, // stock_scale applies only below the full amplitude
	} {
		s.StockScale = c.stockScale
		p, err := s.Play(PlayOptions{RateScale: c.rate})
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range p.SKUs() {
			if k.Stock != c.want[i] {
				t.Errorf("rate %v stock_scale %v: %s stock %d, want %d", c.rate, c.stockScale, k.SKU, k.Stock, c.want[i])
			}
		}
	}
	if !s.SKUs[0].Flash() || s.SKUs[1].Flash() {
		t.Error("phone (limit per user) is a flash SKU, pin is not")
	}
}

func TestStockScaleParse(t *testing.T) {
	base := "name: x\nduration: 5s\nskus: [{sku: a, stock: 10, price: 1}]\ntraffic: {start_rps: 10, stages: [{duration: 5s, rps: 10}]}\njourneys: [{name: b, steps: [{purchase: {sku: a}}]}]\n"
	s, err := Parse("x.yaml", []byte(base+"stock_scale: 0.5\n"))
	if err != nil || s.StockScale != 0.5 {
		t.Fatalf("%v %v", s, err)
	}
	if _, err := Parse("x.yaml", []byte(base+"stock_scale: 0\n")); err == nil {
		t.Error("stock_scale: 0 accepted")
	}
}
