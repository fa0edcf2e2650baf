package scenario

import (
	"math"
	"testing"
	"time"
)

func TestAtRatePlaysAConstantRate(t *testing.T) {
	s, err := Parse("ramp.yaml", []byte(`
name: ramp
duration: 1h
compress: 60
rate_scale: 0.1
skus: [{sku: a, stock: 10, price: 1}]
traffic: {start_rps: 10, stages: [{duration: 1h, rps: 10000}]}
journeys: [{name: v, steps: [{view: {sku: a}}]}]
gates: ["p(99) < 1s"]
`))
	if err != nil {
		t.Fatal(err)
	}
	c := s.AtRate(400, 10*time.Second)
	p, err := c.Play(PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.WallDuration() != 10*time.Second || p.PeakRate() != 400 || math.Abs(p.Total()-4000) > 1 {
		t.Errorf("played %v at peak %g, %g arrivals; want 10s at 400/s, 4000", p.WallDuration(), p.PeakRate(), p.Total())
	}
	if s.Compress != 60 || len(s.Traffic.Stages) != 1 || s.Traffic.Stages[0].RPS != 10000 {
		t.Error("AtRate changed the original")
	}
}
