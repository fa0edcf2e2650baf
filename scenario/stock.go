package scenario

import "math"

// StockScale is the share of every SKU's stock this play sells: 1 at the full amplitude; below
// it the scenario's stock_scale when set, else the play's rate scale, so that a sale scaled
// down with its traffic sells out at the same scenario moment as the full-scale one. The live
// engine and the simulator both read it here.
func (p *Play) StockScale() float64 {
	switch {
	case p.scale >= 1:
		return 1
	case p.s.StockScale > 0:
		return p.s.StockScale
	}
	return p.scale
}

// PlayedStock is stock scaled by StockScale, rounded up and at least 1; a stock of 0 or less
// (unlimited) is kept.
func (p *Play) PlayedStock(stock int64) int64 {
	f := p.StockScale()
	if stock <= 0 || f == 1 {
		return stock
	}
	return max(1, int64(math.Ceil(float64(stock)*f-1e-9)))
}

// SKUs returns the scenario's SKUs with their played stock.
func (p *Play) SKUs() []SKU {
	out := make([]SKU, len(p.s.SKUs))
	copy(out, p.s.SKUs)
	for i := range out {
		out[i].Stock = p.PlayedStock(out[i].Stock)
	}
	return out
}

// Flash says whether a SKU is a flash sale (a per-user limit, pricing rules or a sale window)
// rather than an ordinary catalogue item: dashboards and reports show flash SKUs first.
func (k *SKU) Flash() bool {
	return k.LimitPerUser > 0 || k.Pricing != nil || k.StartsAt != "" || k.EndsAt != ""
}
