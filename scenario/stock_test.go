package scenario

import (
	"math"
	"strings"
	"testing"
	"time"
)

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
	if _, err := Parse("x.yaml", []byte(base+"stock_rule: sometimes\n")); err == nil || !strings.Contains(err.Error(), "stock_rule") {
		t.Errorf("stock_rule: sometimes: %v", err)
	}
	if s, err := Parse("x.yaml", []byte(base+"stock_rule: arrivals\n")); err != nil || s.StockRule != StockRuleArrivals {
		t.Errorf("stock_rule: arrivals: %v", err)
	}
	if _, err := Parse("x.yaml", []byte(base+"stock_scale: 0\n")); err == nil {
		t.Error("stock_scale: 0 accepted")
	}
}

// soldOutAt plays p's arrivals as the engines do (journeys picked by PickSeq) and returns the
// scenario time of the arrival whose purchase takes the last unit of stock (-1: never). A
// same-user purchase (one bot user, limited to one unit) is left out.
func soldOutAt(t *testing.T, p *Play, sku string, stock int64) time.Duration {
	t.Helper()
	s := p.Scenario()
	pick := NewPicker(s.Journeys)
	it := p.Arrivals()
	var sold int64
	for {
		a, ok := it.Next()
		if !ok {
			return -1
		}
		for _, st := range s.Journeys[pick.PickSeq(s.Seed, a.Seq)].Steps {
			if st.Purchase != nil && st.Purchase.SKU == sku && !st.Purchase.SameUser {
				sold += int64(max(st.Purchase.Qty, 1))
			}
		}
		if sold >= stock {
			return a.Scenario
		}
	}
}

// TestStockScaleFollowsThePlayedArrivals: with a compression that differs per stage, the played
// stock runs out at the scenario moment the full-scale stock does, counted on the arrivals the
// schedule really plays; the rate scale alone (the former rule) would be 4x too much stock.
func TestStockScaleFollowsThePlayedArrivals(t *testing.T) {
	src := `name: staged
seed: 3
stock_rule: arrivals
compress: 10
rate_scale: 0.5
skus:
  - {sku: phone, stock: 7500, price: 1, limit_per_user: 1}
  - {sku: late, stock: 1500, price: 1, starts_at: "+12s"}
  - {sku: bulk, stock: 100000000, price: 1}
traffic:
  arrivals: uniform
  start_rps: 1000
  stages: [{duration: 10s, rps: 1000}, {duration: 10s, rps: 1000, compress: 2}]
journeys:
  - {name: rusher, weight: 2, steps: [{purchase: {sku: phone}}]}
  - {name: bot, weight: 1, steps: [{purchase: {sku: phone, same_user: true}}]}
  - {name: late, weight: 1, steps: [{purchase: {sku: late, qty: 2}}]}
`
	s, err := Parse("staged.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	full, err := s.Play(PlayOptions{RateScale: 1, Uncompressed: true})
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.Play(PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	phone := &s.SKUs[0]
	// Full scale: 500 rushers/s take 7500 phones by 15 s (the bot, one user, counts for nothing).
	// Played: 50 arrivals per scenario second in the first stage, 250 in the second: 1750
	// arrivals by 15 s of the 15000 at full scale.
	if got, want := live.PlayedStock(phone), int64(875); got != want {
		t.Errorf("played phone stock %d, want %d", got, want)
	}
	if full.PlayedStock(phone) != 7500 || full.StockScale(phone) != 1 {
		t.Errorf("the full-scale play keeps the stock: %d", full.PlayedStock(phone))
	}
	ft, lt := soldOutAt(t, full, "phone", phone.Stock), soldOutAt(t, live, "phone", live.PlayedStock(phone))
	t.Logf("phone sold out at %v full scale, %v played (stock %d)", ft, lt, live.PlayedStock(phone))
	if ft < 14*time.Second || ft > 16*time.Second || lt < 0 || math.Abs((lt-ft).Seconds()) > 0.05*ft.Seconds() {
		// Within the journeys' draw: 875 of 1750 played arrivals are rushers, give or take 21.
		t.Errorf("phone sold out at %v full scale, %v played: want both about 15s, within 5%%", ft, lt)
	}
	rate := *s
	rate.StockRule = StockRuleRate
	byRate, err := rate.Play(PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := byRate.PlayedStock(phone), int64(math.Ceil(float64(phone.Stock)*live.RateScale())); got != want {
		t.Errorf("stock_rule rate: played phone stock %d, want %d", got, want)
	}
	if old := soldOutAt(t, live, "phone", byRate.PlayedStock(phone)); old >= 0 {
		t.Errorf("the rate scale alone sold out at %v: the test cannot tell the rules apart", old)
	}
	// The late sale opens at 12 s; 250 units per second take its 1500 by 18 s, all in the
	// second stage: the played share there is 0.5 / 2.
	late := &s.SKUs[1]
	if got := live.PlayedStock(late); got != 375 {
		t.Errorf("played late stock %d, want 375", got)
	}
	// Nobody sells the bulk out: the whole run's share, 500+2500 of 20000 arrivals.
	if got := live.StockScale(&s.SKUs[2]); math.Abs(got-3000.0/20000) > 1e-9 {
		t.Errorf("bulk stock scale %v, want %v", got, 3000.0/20000)
	}
	s.StockScale = 0.25
	if got := live.PlayedStock(phone); got != 1875 {
		t.Errorf("stock_scale 0.25: played phone stock %d, want 1875", got)
	}
	if got := full.PlayedStock(phone); got != 7500 {
		t.Errorf("stock_scale does not apply at full scale: %d", got)
	}
}

// TestPlayedFirstNHalf: the first-N-half-price count is scaled with the stock, by the same
// factor (rounded up, at least 1; 0 stays 0), and the full-scale play keeps the file's.
func TestPlayedFirstNHalf(t *testing.T) {
	s := &Scenario{Name: "x", RateScale: 0.01, SKUs: []SKU{
		{SKU: "phone", Stock: 20000, Pricing: &Pricing{FirstNHalf: 100}},
		{SKU: "pin", Stock: 3, Pricing: &Pricing{FirstNHalf: 1}},
		{SKU: "mug", Stock: 50, Pricing: &Pricing{Ladder: &Ladder{Start: 1, Step: 0.1, Every: Duration(time.Hour)}}}},
		Traffic: Traffic{StartRPS: 100, Stages: []Stage{{Duration: Duration(10e9), RPS: 100}}}}
	for _, c := range []struct {
		rate, stockScale float64
		want             []int64
	}{
		{0, 0, []int64{1, 1, 0}},   // 100 × 0.01
		{1, 0, []int64{100, 1, 0}}, // full scale
		{0.25, 0, []int64{25, 1, 0}},
		{0.01, 0.333, []int64{34, 1, 0}}, // stock_scale: 33.3 rounds up
	} {
		s.StockScale = c.stockScale
		p, err := s.Play(PlayOptions{RateScale: c.rate})
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range p.SKUs() {
			got := int64(0)
			if k.Pricing != nil {
				got = k.Pricing.FirstNHalf
			}
			if got != c.want[i] || got != p.PlayedFirstNHalf(&s.SKUs[i]) {
				t.Errorf("rate %v stock_scale %v: %s first_n_half %d, want %d", c.rate, c.stockScale, k.SKU, got, c.want[i])
			}
		}
	}
	if s.SKUs[0].Pricing.FirstNHalf != 100 {
		t.Error("Play.SKUs changed the scenario's pricing")
	}
}

// TestSaleAt: an offset is scenario time played through the compression (stage by stage); an
// absolute time counts from the run's start on the run clock; empty or unreadable is not a time.
func TestSaleAt(t *testing.T) {
	s := &Scenario{Name: "x", Compress: 10, Traffic: Traffic{StartRPS: 100, Stages: []Stage{
		{Duration: Duration(100 * time.Second), RPS: 100}, {Duration: Duration(100 * time.Second), RPS: 100, Compress: 2}}}}
	p, err := s.Play(PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"+50s", 5 * time.Second, true},
		{"+120s", 20 * time.Second, true}, // 10 s for the first stage, 20 s of scenario time at 2
		{"+1h", 60 * time.Second, true},   // past the end: the end
		{"2026-11-11T00:00:07Z", 7 * time.Second, true},
		{"2026-11-10T23:59:50Z", -10 * time.Second, true},
		{"", 0, false},
		{"tomorrow", 0, false},
		{"+soon", 0, false},
	} {
		got, ok := p.SaleAt(c.v, t0)
		if got != c.want || ok != c.ok {
			t.Errorf("SaleAt(%q) = %v %v, want %v %v", c.v, got, ok, c.want, c.ok)
		}
	}
}
