package engine

import (
	"strings"
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
			from := time.Duration(0)
			if off, ok := strings.CutPrefix(skus[i].StartsAt, "+"); ok {
				from, _ = scenario.ParseDuration(off)
			}
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

func playedOffset(v string, p *scenario.Play) string {
	if !strings.HasPrefix(v, "+") {
		return v
	}
	d, err := scenario.ParseDuration(v[1:])
	if err != nil {
		return v // the target reports it; the scenario validator already did
	}
	return "+" + p.WallAt(d).String()
}
