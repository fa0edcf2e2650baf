//go:build race

package rehearse

import (
	"testing"
	"time"

	"github.com/flashload/flashload/scenario"
)

// TestDoubleElevenMidnightSellsOut is TestDoubleElevenSellsOutWithTheFullScale for the race
// detector: the bundled double-eleven's evening and midnight spike only (the day after cannot
// move a sell-out at midnight), played at the compressions --wall 20s gives them, so the
// full-scale simulation covers 1h30m instead of 24h.
func TestDoubleElevenMidnightSellsOut(t *testing.T) {
	s, err := scenario.Load("double-eleven")
	if err != nil {
		t.Fatal(err)
	}
	day, err := s.Play(scenario.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := *s
	c.Traffic.Stages = s.Traffic.Stages[:2]
	c.Duration = c.Traffic.Stages[0].Duration + c.Traffic.Stages[1].Duration
	night, err := c.Play(scenario.PlayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// --wall 20s divides every stage's compression by the day's wall over 20 s; the night alone
	// gets the same compressions from its own wall over that factor.
	wall := time.Duration(float64(night.WallDuration()) * float64(20*time.Second) / float64(day.WallDuration()))
	sellsOutWithTheFullScale(t, &c, wall)
}
