package sim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// saleScenario: 500 phone buyers and 500 shoppers per second for 10 s; the phone sells from
// STARTS to ENDS only.
const saleScenario = `name: sale-window
duration: 10s
compress: 2
rate_scale: 1
skus:
  - {sku: phone, stock: STOCK, price: 1, starts_at: "STARTS", ends_at: "ENDS"}
  - {sku: bulk, stock: 100000000, price: 1}
traffic: {arrivals: uniform, start_rps: 1000, stages: [{duration: 10s, rps: 1000}]}
users: 10000000
journeys:
  - {name: rusher, weight: 1, steps: [{purchase: {sku: phone}}, {pay: {probability: 1}}]}
  - {name: shopper, weight: 1, steps: [{purchase: {sku: bulk, qty: 2}}, {pay: {probability: 1}}]}
model: {replicas: 4, workers_per_replica: 64, service_time: {dist: deterministic, mean: 1ms}}
`

func saleRun(t *testing.T, mode string, played bool, stock, starts, ends string, started time.Time) *result.Summary {
	t.Helper()
	src := strings.NewReplacer("STOCK", stock, "STARTS", starts, "ENDS", ends).Replace(saleScenario)
	src = strings.ReplaceAll(src, `, ends_at: ""`, "")
	s, err := scenario.Parse("sale-window.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	run, err := Run(context.Background(), s, Options{Mode: mode, Played: played, StartedAt: started})
	if err != nil {
		t.Fatal(err)
	}
	return run.Summary
}

func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestSaleWindow: both modes answer a purchase before the phone's window NOT_STARTED (425) and
// after it SALE_ENDED (410), as the target's inventory does, and sell only inside it: 500 phone
// buyers per second, a window from 3 s to 8 s of scenario time, in the full-scale play and in a
// play at compression 2 (the offsets move with the compression, so the counts are the same).
func TestSaleWindow(t *testing.T) {
	for _, mode := range []string{ModeFluid, ModeRequest} {
		for _, played := range []bool{false, true} {
			sum := saleRun(t, mode, played, "100000", "+3s", "+8s", time.Time{})
			scale := 1.0
			if played {
				scale = 0.5 // compression 2 at rate scale 1: half the arrivals
			}
			by := sum.Requests.ByCode
			ns, se := float64(by[codes.NotStarted]), float64(by[codes.SaleEnded])
			t.Logf("%s played=%v: by code %v, by status %v", mode, played, by, sum.Requests.ByStatus)
			// The request mode picks each arrival's journey as the live engine does (by its
			// number, half and half): the counts are binomial, 3σ ≈ 80 at full scale.
			tol := 80 * math.Sqrt(scale)
			if !within(ns, 1500*scale, tol) || !within(se, 1000*scale, tol) {
				t.Errorf("%s played=%v: NOT_STARTED %v (want %v), SALE_ENDED %v (want %v)", mode, played, ns, 1500*scale, se, 1000*scale)
			}
			if sum.Requests.ByStatus["425"] != by[codes.NotStarted] || codes.Status(codes.NotStarted) != 425 || codes.Status(codes.SaleEnded) != 410 {
				t.Errorf("%s played=%v: NOT_STARTED not answered 425: %v", mode, played, sum.Requests.ByStatus)
			}
			phone := sum.SKUs[0]
			if phone.SKU != "phone" || !within(float64(phone.Sold), 2500*scale, tol) || phone.SoldOut() {
				t.Errorf("%s played=%v: phone %+v, want about %v sold inside the window", mode, played, phone, 2500*scale)
			}
		}
	}
}

// TestSaleWindowSellOut: the phone's 1000 units sell out 2 s after the sale opens at 3 s
// (scenario time), not 2 s after the start, in both modes and both plays; an absolute opening
// counts from the run's start on the run clock (Options.StartedAt), so at compression 2 an
// opening 3 wall seconds after the start is 6 s of scenario time.
func TestSaleWindowSellOut(t *testing.T) {
	t0 := time.Date(2026, 11, 10, 23, 0, 0, 0, time.UTC)
	abs := t0.Add(3 * time.Second).Format(time.RFC3339)
	for _, mode := range []string{ModeFluid, ModeRequest} {
		for _, c := range []struct {
			played bool
			stock  string
			starts string
			want   float64 // scenario seconds
		}{
			{false, "1000", "+3s", 5},
			{true, "500", "+3s", 5}, // half the arrivals at compression 2: half the stock
			{false, "1000", abs, 5},
			{true, "500", abs, 8},
		} {
			sum := saleRun(t, mode, c.played, c.stock, c.starts, "", t0)
			phone := sum.SKUs[0]
			if phone.SKU != "phone" || phone.SoldOutAtS == nil {
				t.Fatalf("%s %+v: phone %+v did not sell out", mode, c, phone)
			}
			t.Logf("%s %+v: sold out at %.3fs", mode, c, *phone.SoldOutAtS)
			// 500 phone buyers a second, each arrival's journey a coin: the sell-out moment's σ
			// is about 0.06 s in the request mode.
			if !within(*phone.SoldOutAtS, c.want, 0.2) {
				t.Errorf("%s %+v: phone sold out at %.3fs, want %vs", mode, c, *phone.SoldOutAtS, c.want)
			}
		}
	}
}

// TestPaidPerSKU: both modes report each SKU's paid units (the orders' quantities), from the
// order the session reserved: every buyer pays, so paid equals sold for each SKU.
func TestPaidPerSKU(t *testing.T) {
	for _, mode := range []string{ModeFluid, ModeRequest} {
		sum := saleRun(t, mode, false, "1000", "+3s", "", time.Time{})
		ks := sum.SKUs
		if len(ks) != 2 {
			t.Fatalf("%s: skus %+v", mode, ks)
		}
		for _, k := range ks {
			if k.Paid == 0 || !within(float64(k.Paid), float64(k.Sold), 2) {
				t.Errorf("%s: %s paid %d of %d sold", mode, k.SKU, k.Paid, k.Sold)
			}
		}
		// About 500 shoppers per second for 10 s (the request mode draws the journeys), 2 units each.
		bulk := ks[1]
		if bulk.SKU != "bulk" || !within(float64(bulk.Paid), 10000, 300) || bulk.Stock != 100000000 {
			t.Errorf("%s: bulk %+v, want about 10,000 units paid", mode, bulk)
		}
		if got := ks[0].Paid + bulk.Paid; !within(float64(got), float64(sum.Audit.Paid+bulk.Paid/2), 2) {
			t.Errorf("%s: per-SKU paid %d units, audit %d orders (bulk orders are 2 units)", mode, got, sum.Audit.Paid)
		}
	}
}
