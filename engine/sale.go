package engine

import (
	"github.com/flashload/flashload/audit"
	"time"

	"github.com/flashload/flashload/result"
)

// noteSoldOut tells the Recorder the first time SKU i answers SOLD_OUT, at the request's
// intended time.
func (r *run) noteSoldOut(i uint16, intended time.Duration) {
	if int(i) >= len(r.soldOut) || !r.soldOut[i].CompareAndSwap(false, true) {
		return
	}
	r.rec.MarkSoldOut(r.s.SKUs[i].SKU, intended)
}

// skuGauges turns a reading of /admin/audit into the Recorder's gauges: per SKU of the
// scenario (flash SKUs marked) and their sums.
func (r *run) skuGauges(m map[string]audit.SKUAudit) result.Gauges {
	var g result.Gauges
	for _, k := range r.s.SKUs {
		s, ok := m[k.SKU]
		if !ok {
			continue
		}
		sk := result.SKUStats{SKU: k.SKU, Flash: k.Flash(), Stock: s.Stock, Left: s.Available,
			Sold: max(s.Sold, s.Reserved+s.Paid), Paid: s.Paid, Released: s.Released,
			Oversold: max(s.Oversold, s.Reserved+s.Paid-s.Stock, 0)}
		g.SKUs = append(g.SKUs, sk)
		g.Stock += sk.Stock
		g.StockLeft += sk.Left
		g.Sold += sk.Sold
		g.Paid += sk.Paid
		g.Released += sk.Released
		g.Oversold += sk.Oversold
	}
	return g
}
