package engine

import (
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

// TestPlayedSKUs: sale-window offsets and the ladder's step are scenario time, moved to run time
// through the play's compression; absolute times stay as they are; the scenario is not modified.
func TestPlayedSKUs(t *testing.T) {
	s, err := scenario.Parse("t.yaml", []byte(`name: t
compress: 60
skus:
  - sku: a
    stock: 10
    price: 100
    cost: 50
    starts_at: "+5m"
    ends_at: "+1h"
    pricing: {ladder: {start: 1.2, step: 0.05, every: 10m, floor_over_cost: 1.1}}
  - {sku: b, stock: 10, price: 1, starts_at: "2026-11-11T00:00:00Z"}
traffic:
  start_rps: 10
  stages: [{duration: 1h, rps: 10}]
journeys: [{name: j, steps: [{purchase: {sku: a}}]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Play(scenario.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := PlayedSKUs(p)
	if got[0].StartsAt != "+5s" || got[0].EndsAt != "+1m0s" {
		t.Errorf("window %q..%q, want +5s..+1m0s (scenario minutes at compress 60)", got[0].StartsAt, got[0].EndsAt)
	}
	if every := got[0].Pricing.Ladder.Every.D(); every != 10*time.Second {
		t.Errorf("ladder every %v, want 10s", every)
	}
	if got[1].StartsAt != "2026-11-11T00:00:00Z" {
		t.Errorf("absolute time changed to %q", got[1].StartsAt)
	}
	if s.SKUs[0].StartsAt != "+5m" || s.SKUs[0].Pricing.Ladder.Every.D() != 10*time.Minute {
		t.Errorf("the scenario itself was modified: %+v", s.SKUs[0])
	}
	// --wall rescales: the whole hour in 30 s puts the opening at 2.5 s.
	p2, err := s.Play(scenario.PlayOptions{Wall: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := PlayedSKUs(p2)[0].StartsAt; got != "+2.5s" {
		t.Errorf("with --wall 30s the sale opens at %q, want +2.5s", got)
	}
}
