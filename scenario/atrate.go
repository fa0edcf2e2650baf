package scenario

import "time"

// AtRate returns a copy of s that plays a constant rate of rps arrivals per second for d, at
// scale 1 and uncompressed: one step of a capacity search (--find-capacity). Journeys, SKUs,
// the model and the gates are kept; the curve goes.
func (s *Scenario) AtRate(rps float64, d time.Duration) *Scenario {
	c := *s
	c.Duration = Duration(d)
	c.Compress, c.RateScale = 1, 1
	c.Traffic.Replay, c.ReplayPoints = "", nil
	c.Traffic.StartRPS = rps
	c.Traffic.Stages = []Stage{{Duration: Duration(d), RPS: rps}}
	return &c
}
