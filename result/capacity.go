package result

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Capacity is what a capacity search found (`--find-capacity`): the highest rate at which every
// gate held, and each step played on the way, in the order played.
type Capacity struct {
	MaxRate float64        `json:"max_rate"` // 0: no step passed
	Steps   []CapacityStep `json:"steps"`
}

// CapacityStep is one constant-rate step of the search.
type CapacityStep struct {
	Rate      float64 `json:"rate"` // arrivals per second
	Pass      bool    `json:"pass"` // every gate held
	P99Ms     float64 `json:"p99_ms"`
	ErrorRate float64 `json:"error_rate"`
}

// CapacitySearch configures FindCapacity.
type CapacitySearch struct {
	Start     float64 // the first rate (> 0)
	Precision float64 // stop when the bracket is this narrow relative to its top; 0: 0.05
	MaxSteps  int     // 0: 20
	// Try plays one step at rate and returns its summary with its gates evaluated and whether
	// all passed.
	Try func(ctx context.Context, rate float64) (*Summary, bool, error)
}

// ErrNoPassingRate is FindCapacity's error when no rate down to Start/2^MaxSteps passed.
var ErrNoPassingRate = errors.New("no rate passed the gates")

var errorRate, _ = ParseThreshold("error_rate < 1")

// FindCapacity searches the highest rate at which every gate holds, assuming a rate that fails
// fails above too: from Start it doubles until a step fails (or halves until one passes), then
// bisects the bracket. It returns the search, and the summary of the highest passing step.
func FindCapacity(ctx context.Context, o CapacitySearch) (*Capacity, *Summary, error) {
	if o.Start <= 0 || math.IsNaN(o.Start) || math.IsInf(o.Start, 0) {
		return nil, nil, fmt.Errorf("capacity search: start rate %g must be positive", o.Start)
	}
	if o.Precision <= 0 {
		o.Precision = 0.05
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = 20
	}
	c := &Capacity{Steps: []CapacityStep{}}
	var best *Summary
	try := func(rate float64) (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if len(c.Steps) >= o.MaxSteps && c.MaxRate == 0 {
			return false, fmt.Errorf("%w: %d steps down to %g/s", ErrNoPassingRate, len(c.Steps), rate*2)
		}
		if len(c.Steps) >= o.MaxSteps {
			return false, fmt.Errorf("capacity search: %d steps without a bracket narrower than %.0f%%", o.MaxSteps, o.Precision*100)
		}
		s, pass, err := o.Try(ctx, rate)
		if err != nil {
			return false, err
		}
		er, _ := errorRate.Measure(s)
		c.Steps = append(c.Steps, CapacityStep{Rate: rate, Pass: pass, P99Ms: s.LatencyMs.P99, ErrorRate: er})
		if pass && rate > c.MaxRate {
			c.MaxRate, best = rate, s
		}
		return pass, nil
	}
	lo, hi := 0.0, 0.0 // highest pass, lowest fail
	rate := o.Start
	for hi == 0 || lo == 0 {
		pass, err := try(rate)
		if err != nil {
			return c, best, err
		}
		if pass {
			lo = rate
			if hi == 0 {
				rate *= 2
			}
		} else {
			hi = rate
			if lo == 0 {
				rate /= 2
			}
		}
	}
	for (hi-lo)/hi > o.Precision {
		mid := (lo + hi) / 2
		pass, err := try(mid)
		if err != nil {
			return c, best, err
		}
		if pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	return c, best, nil
}
