package engine

import (
	"time"

	"github.com/flashload/flashload/scenario"
)

// PlayedSKUs returns the SKUs with their sale windows' offsets ("+5m") moved from scenario time
// to run time through the play's compression, so a sale that opens five scenario minutes in
// opens at the same point of the curve whatever --wall is. Absolute times are kept.
func PlayedSKUs(skus []scenario.SKU, p *scenario.Play) []scenario.SKU {
	out := make([]scenario.SKU, len(skus))
	copy(out, skus)
	for i := range out {
		out[i].StartsAt = playedOffset(out[i].StartsAt, p)
		out[i].EndsAt = playedOffset(out[i].EndsAt, p)
		// The ladder's step ("5% off every hour") is scenario time too: played at the
		// compression where the sale opens, the price drops as often along the curve.
		if pr := out[i].Pricing; pr != nil && pr.Ladder != nil && pr.Ladder.Every > 0 {
			from, _ := scenario.SaleOffset(skus[i].StartsAt)
			every := p.WallAt(from+pr.Ladder.Every.D()) - p.WallAt(from)
			if every <= 0 {
				every = time.Millisecond
			}
			lad := *pr.Ladder
			lad.Every = scenario.Duration(every)
			cp := *pr
			cp.Ladder = &lad
			out[i].Pricing = &cp
		}
	}
	return out
}

// playedOffset is an offset's run-clock moment (scenario.Play.SaleAt, where the simulator opens
// the sale too), still an offset: the target counts it from the moment it is set up, the run's
// start. An absolute time is kept; the target reports an unreadable one.
func playedOffset(v string, p *scenario.Play) string {
	if _, ok := scenario.SaleOffset(v); !ok {
		return v
	}
	at, _ := p.SaleAt(v, time.Time{})
	return "+" + at.String()
}
