package sim

import (
	"math"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// window is a SKU's sale window on the run clock, [open, end). A purchase outside it is answered
// as the target's inventory answers it — NOT_STARTED before, SALE_ENDED from the end on — and
// costs what a sold-out answer costs: the target checks the window before the stock and the
// per-user limit, without the database.
type window struct{ open, end time.Duration }

// always is the window of a SKU without starts_at and ends_at.
var always = window{open: math.MinInt64, end: math.MaxInt64}

// saleWindows places each SKU's window on the play's run clock (scenario.Play.SaleAt): an offset
// where the live engine has the target open it, an absolute time counted from start.
func saleWindows(p *scenario.Play, skus []scenario.SKU, start time.Time) []window {
	ws := make([]window, len(skus))
	for i, k := range skus {
		ws[i] = always
		if at, ok := p.SaleAt(k.StartsAt, start); ok {
			ws[i].open = at
		}
		if at, ok := p.SaleAt(k.EndsAt, start); ok {
			ws[i].end = at
		}
	}
	return ws
}

// refusal is the code a purchase at now gets from the window: "" inside it.
func (w window) refusal(now time.Duration) string {
	switch {
	case now < w.open:
		return codes.NotStarted
	case now >= w.end:
		return codes.SaleEnded
	}
	return ""
}

// within is the part of [a, b) inside the window: where it starts and how long it lasts (0 when
// the window misses it).
func (w window) within(a, b time.Duration) (from, span time.Duration) {
	from, to := max(a, w.open), min(b, w.end)
	if to <= from {
		return a, 0
	}
	return from, to - from
}

// skuAudit is the model's inventory per SKU at the end of a run (the summary's skus[]): the
// played stock, whole units left, and units paid. An unlimited stock (1<<62 in the model) is
// reported as stock 0 with what it sold.
func skuAudit(skus []scenario.SKU, stock, left []int64, paid []float64) []result.SKUStats {
	out := make([]result.SKUStats, len(skus))
	for i, k := range skus {
		a := result.SKUStats{SKU: k.SKU, Flash: k.Flash(), Stock: stock[i], Left: left[i], Sold: stock[i] - left[i],
			Paid: int64(math.Round(paid[i]))}
		if stock[i] >= 1<<61 {
			a.Stock, a.Left = 0, 0
		}
		out[i] = a
	}
	return out
}
