package result

import (
	"maps"
	"slices"
	"time"
)

// SKUStats is one SKU's sale (Summary.SKUs, Snapshot.SKUs). Flash SKUs (a limited, rule-bound
// sale: per-user limit, pricing rules or a sale window) come first.
type SKUStats struct {
	SKU      string `json:"sku"`
	Flash    bool   `json:"flash,omitempty"`
	Stock    int64  `json:"stock"`
	Left     int64  `json:"left"`
	Sold     int64  `json:"sold"`
	Paid     int64  `json:"paid"`
	Released int64  `json:"released"`
	Oversold int64  `json:"oversold"`
	Lost     int64  `json:"lost"`
	// SoldOutAtS is the scenario time (seconds) the SKU first had no unit left: the earliest mark
	// (the live engine's first SOLD_OUT answer, the simulator's last unit), else the first reading
	// of an empty stock; null when it never sold out.
	SoldOutAtS *float64 `json:"sold_out_at_s"`
}

// SoldOut says whether the SKU sold out during the run.
func (k SKUStats) SoldOut() bool { return k.SoldOutAtS != nil }

// SortSKUs orders SKUs flash first, keeping the given order otherwise.
func SortSKUs(skus []SKUStats) {
	slices.SortStableFunc(skus, func(a, b SKUStats) int {
		switch {
		case a.Flash == b.Flash:
			return 0
		case a.Flash:
			return -1
		}
		return 1
	})
}

// soldOutCheck notes the sell-out of every SKU of g that shows an empty stock and was not
// marked yet (with the Recorder's mutex held). A reading only says the stock ran out by then;
// a mark (MarkSoldOut) says when, so a reading never moves a mark.
func (r *Recorder) soldOutCheck(wall time.Duration, g Gauges) {
	for _, k := range g.SKUs {
		if _, marked := r.soldOut[k.SKU]; !marked && k.Stock > 0 && k.Left <= 0 {
			r.markSoldOut(k.SKU, wall)
		}
	}
}

func (r *Recorder) markSoldOut(sku string, wall time.Duration) {
	if r.soldOut == nil {
		r.soldOut = map[string]time.Duration{}
	}
	if at, ok := r.soldOut[sku]; !ok || wall < at {
		r.soldOut[sku] = wall
	}
}

// MarkSoldOut records that sku sold out at run-clock time wall: the live engine's first SOLD_OUT
// answer, the simulator's last unit. The earliest mark is the SKU's sell-out.
func (r *Recorder) MarkSoldOut(sku string, wall time.Duration) {
	r.mu.Lock()
	r.markSoldOut(sku, wall)
	r.mu.Unlock()
}

// skuStats is the last per-SKU reading with the sell-out moments (with r.mu held).
func (r *Recorder) skuStats() []SKUStats {
	if len(r.last.SKUs) == 0 && len(r.soldOut) == 0 {
		return nil
	}
	out := make([]SKUStats, 0, len(r.last.SKUs))
	seen := map[string]bool{}
	for _, k := range r.last.SKUs {
		k.SoldOutAtS = nil
		out = append(out, k)
		seen[k.SKU] = true
	}
	for _, sku := range slices.Sorted(maps.Keys(r.soldOut)) { // marked before any reading
		if !seen[sku] {
			out = append(out, SKUStats{SKU: sku})
		}
	}
	for i := range out {
		if at, ok := r.soldOut[out[i].SKU]; ok {
			t := r.scenarioAt(at).Seconds()
			out[i].SoldOutAtS = &t
		}
	}
	SortSKUs(out)
	return out
}

// finishSKUs fills the summary's per-SKU block (with r.mu held).
func (r *Recorder) finishSKUs(s *Summary, _ time.Duration) { s.SKUs = r.skuStats() }

// ApplySKUAudit replaces the per-SKU counts of s with the audit's (stock, sold, paid, released,
// oversold, lost), keeping what the run measured that the audit does not know: the sell-out
// moments and the flash flag. SKUs only the audit knows are added.
func ApplySKUAudit(s *Summary, audited []SKUStats) {
	for _, a := range audited {
		i := slices.IndexFunc(s.SKUs, func(k SKUStats) bool { return k.SKU == a.SKU })
		if i < 0 {
			s.SKUs = append(s.SKUs, a)
			continue
		}
		k := &s.SKUs[i]
		k.Stock, k.Left, k.Sold, k.Paid, k.Released, k.Oversold, k.Lost = a.Stock, a.Left, a.Sold, a.Paid, a.Released, a.Oversold, a.Lost
		k.Flash = k.Flash || a.Flash
		if k.SoldOutAtS == nil {
			k.SoldOutAtS = a.SoldOutAtS
		}
	}
	SortSKUs(s.SKUs)
}
