package parity

import (
	"context"
	"math"
	"testing"

	"github.com/flashload/flashload/engine"
	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/rehearse"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/sim"
)

// window: 200 purchases per second for 4 s of scenario time played in 2 s (400 arrivals); the SKU
// is on sale from 1 s to 3 s of scenario time, so 100 purchases come too early, 200 inside, 100
// too late.
const window = `
name: parity-window
seed: 3
duration: 4s
compress: 2
skus: [{sku: w, stock: 1000000, price: 1, starts_at: "+1s", ends_at: "+3s"}]
traffic: {arrivals: uniform, start_rps: 200, stages: [{duration: 4s, rps: 200}]}
users: 1000000
journeys: [{name: buyer, steps: [{purchase: {sku: w}}]}]
model: {replicas: 1, workers_per_replica: 64, service_time: {dist: deterministic, mean: 1ms}}
`

// TestEnginesHonourOneSaleWindow plays a sale window live (the memory target answers outside
// it) and in both simulator modes at the played scale: the same codes with the same statuses,
// in the same numbers (the live target counts the window from its setup, a few milliseconds
// before the first arrival: a few purchases of slack).
func TestEnginesHonourOneSaleWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 2 s live")
	}
	s, err := scenario.Parse("window.yaml", []byte(window))
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := rehearse.StartTarget(context.Background(), rehearse.TargetOptions{Strategy: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Stop(context.Background())
	live, err := engine.Run(context.Background(), s, engine.Options{Target: tgt.URL(), AdminToken: tgt.AdminToken(), Setup: true, NoPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{codes.NotStarted: 100, codes.Reserved: 200, codes.SaleEnded: 100}
	check := func(name string, byCode, byStatus map[string]int64) {
		t.Logf("%s: by code %v, by status %v", name, byCode, byStatus)
		for code, n := range want {
			if got := float64(byCode[code]); math.Abs(got-n) > 8 {
				t.Errorf("%s: %d %s, want about %.0f", name, byCode[code], code, n)
			}
		}
		if byStatus["425"] != byCode[codes.NotStarted] || byStatus["410"] != byCode[codes.SaleEnded] {
			t.Errorf("%s: NOT_STARTED or SALE_ENDED not with the target's status (425, 410): %v", name, byStatus)
		}
	}
	check("live", live.Summary.Requests.ByCode, live.Summary.Requests.ByStatus)
	for _, mode := range []string{sim.ModeRequest, sim.ModeFluid} {
		run, err := sim.Run(context.Background(), s, sim.Options{Mode: mode, Played: true})
		if err != nil {
			t.Fatal(err)
		}
		check("sim "+mode, run.Summary.Requests.ByCode, run.Summary.Requests.ByStatus)
	}
}
