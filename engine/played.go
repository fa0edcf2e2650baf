package engine

import (
	"time"

	"github.com/flashload/flashload/scenario"
)

// PlayedSKUs returns the play's SKUs (scenario.Play.SKUs: played stock, first-N and ladder)
// with their sale windows' offsets ("+5m") moved from scenario time to run time, as the target
// takes them: it counts an offset from the moment it is set up, the run's start. Absolute times
// are kept.
func PlayedSKUs(p *scenario.Play) []scenario.SKU {
	out := p.SKUs()
	for i := range out {
		out[i].StartsAt = playedOffset(out[i].StartsAt, p)
		out[i].EndsAt = playedOffset(out[i].EndsAt, p)
	}
	return out
}

// playedOffset is an offset's run-clock moment (scenario.Play.SaleAt, where the simulator opens
// the sale too), still an offset. An absolute time is kept; the target reports an unreadable one.
func playedOffset(v string, p *scenario.Play) string {
	if _, ok := scenario.SaleOffset(v); !ok {
		return v
	}
	at, _ := p.SaleAt(v, time.Time{})
	return "+" + at.String()
}
