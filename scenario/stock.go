package scenario

import (
	"math"
	"strings"
	"time"
)

// The rules a scenario's stock_rule names (StockScale).
const (
	StockRuleRate     = "rate"
	StockRuleArrivals = "arrivals"
)

// StockScale is the share of SKU k's stock this play sells. The full amplitude keeps the whole
// stock; below it the scenario's stock_scale applies when set, else its stock_rule:
//   - "rate" (the default): the played rate scale, so that a sale scaled down with its traffic
//     and played at the same compression sells out at the same scenario moment;
//   - "arrivals": the arrivals this play plays over the sale's window divided by the arrivals the
//     full-scale play (the simulator's uncompressed play of the whole amplitude) has there. The
//     window runs from the sale's start (a starts_at offset, else 0) to the moment the full-scale
//     buyers of k (the journeys' purchase units of k per arrival) have bought its stock, or to the
//     end when they never do. Per scenario second a play has rate_scale / compress of the
//     full-scale arrivals, compress differing per stage, so only this rule makes a compressed live
//     run sell out at the full-scale moment — at the price of tiny stocks when the compression is
//     high (docs/scenarios.md, "Stock scales with the traffic").
//
// The live engine, the simulator at the played scale and rehearse all read it here.
func (p *Play) StockScale(k *SKU) float64 {
	if p.s.StockRule != StockRuleArrivals {
		switch {
		case p.scale >= 1:
			return 1
		case p.s.StockScale > 0:
			return p.s.StockScale
		}
		return p.scale
	}
	if p.fullScale() {
		return 1
	}
	if p.s.StockScale > 0 {
		return p.s.StockScale
	}
	from, until := p.stockWindow(k)
	full := p.curve.Integral(until) - p.curve.Integral(from)
	if full <= 0 {
		return p.scale // no arrivals to compare (a closed model): the rate scale
	}
	return (p.Expected(p.WallAt(until)) - p.Expected(p.WallAt(from))) / full
}

// fullScale reports whether the play is the full-scale one: the whole amplitude, uncompressed.
func (p *Play) fullScale() bool {
	if p.scale != 1 {
		return false
	}
	for _, st := range p.stages {
		if st.c != 1 {
			return false
		}
	}
	return true
}

// stockWindow is the scenario-time window over which StockScale compares arrivals: from the
// sale's start to the full-scale sell-out moment the arrival curve predicts for k.
func (p *Play) stockWindow(k *SKU) (from, until time.Duration) {
	if d, ok := SaleOffset(k.StartsAt); ok {
		from = min(d, secs(p.curve.dur))
	}
	until = secs(p.curve.dur)
	if u := p.s.unitsPerArrival(k); u > 0 && k.Stock > 0 {
		until = p.curve.Inverse(p.curve.Integral(from) + float64(k.Stock)/u)
	}
	return from, until
}

// unitsPerArrival is the expected number of units of k an arrival tries to buy: its journeys'
// purchase steps of k times their quantity, weighted. A same-user journey (a bot on one user id)
// of a SKU with a per-user limit buys at most that limit in all, so it does not count.
func (s *Scenario) unitsPerArrival(k *SKU) float64 {
	var units, total float64
	for _, j := range s.Journeys {
		w := max(j.Weight, 0)
		total += w
		for _, st := range j.Steps {
			b := st.Purchase
			if b == nil || b.SKU != k.SKU || b.SameUser && k.LimitPerUser > 0 {
				continue
			}
			units += w * float64(max(b.Qty, 1))
		}
	}
	if total <= 0 {
		return 0
	}
	return units / total
}

// PlayedStock is k's stock scaled by StockScale, rounded up and at least 1; a stock of 0 or less
// (unlimited) is kept.
func (p *Play) PlayedStock(k *SKU) int64 { return scaleUnits(k.Stock, p.StockScale(k)) }

// PlayedFirstNHalf is k's first-N-half-price count scaled as its stock (StockScale, rounded up,
// at least 1; 0 stays 0), so the half-price share of the played stock is the file's.
func (p *Play) PlayedFirstNHalf(k *SKU) int64 {
	if k.Pricing == nil {
		return 0
	}
	return scaleUnits(k.Pricing.FirstNHalf, p.StockScale(k))
}

// scaleUnits is n units scaled by f, rounded up and at least 1; n ≤ 0 is kept.
func scaleUnits(n int64, f float64) int64 {
	if n <= 0 || f == 1 {
		return n
	}
	return max(1, int64(math.Ceil(float64(n)*f-1e-9)))
}

// SKUs returns the scenario's SKUs as this play sells them, compiled once with the play: the
// played stock and first-N-half count (PlayedStock, PlayedFirstNHalf), and the ladder's step
// ("5% off every hour", scenario time) played at the compression where the sale opens, so the
// price drops as often along the curve. The live engine sets the target up with them, the
// simulator sells them, and the audit reads them. The sale windows stay as the file says them;
// SaleAt places them on the run clock.
func (p *Play) SKUs() []SKU {
	out := make([]SKU, len(p.skus))
	copy(out, p.skus)
	return out
}

func (p *Play) playedSKUs() []SKU {
	out := make([]SKU, len(p.s.SKUs))
	copy(out, p.s.SKUs)
	for i := range out {
		k := &p.s.SKUs[i]
		out[i].Stock = p.PlayedStock(k)
		pr := k.Pricing
		if pr == nil {
			continue
		}
		cp := *pr
		cp.FirstNHalf = p.PlayedFirstNHalf(k)
		if l := pr.Ladder; l != nil && l.Every > 0 {
			from, _ := SaleOffset(k.StartsAt)
			every := p.WallAt(from+l.Every.D()) - p.WallAt(from)
			lad := *l
			lad.Every = Duration(max(every, time.Millisecond))
			cp.Ladder = &lad
		}
		out[i].Pricing = &cp
	}
	return out
}

// SaleOffset reads a sale time (a SKU's starts_at or ends_at) that is an offset of scenario time
// from the start ("+1h"); ok is false for an absolute time, an empty or an unreadable one.
func SaleOffset(v string) (d time.Duration, ok bool) {
	off, ok := strings.CutPrefix(v, "+")
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(off)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// SaleAt is the run-clock moment of a sale time v (a SKU's starts_at or ends_at) in this play.
// An offset is scenario time, played through the compression: the live engine hands the target
// this moment (engine.PlayedSKUs), and the simulator opens the sale there. An absolute RFC 3339
// time has no place on the scenario's clock (a scenario has no date): it is the moment of the
// wall clock, counted from start, the run's start, as the target counts it from the moment it is
// set up. ok is false for an empty or unreadable v (the validator reports those).
func (p *Play) SaleAt(v string, start time.Time) (at time.Duration, ok bool) {
	if v == "" {
		return 0, false
	}
	if d, ok := SaleOffset(v); ok {
		return p.WallAt(d), true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, false
	}
	return t.Sub(start), true
}

// Flash says whether a SKU is a flash sale (a per-user limit, pricing rules or a sale window)
// rather than an ordinary catalogue item: dashboards and reports show flash SKUs first.
func (k *SKU) Flash() bool {
	return k.LimitPerUser > 0 || k.Pricing != nil || k.StartsAt != "" || k.EndsAt != ""
}
