package dashboard

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/result"
)

// answerCodes splits the answers by code into the target's named codes to show (RESERVED and
// SOLD_OUT always, any other with answers; largest first) and the sum of codes nobody named.
func answerCodes(by map[string]int64) (named []string, other int64) {
	for _, c := range codes.All {
		if by[c] > 0 || c == codes.Reserved || c == codes.SoldOut {
			named = append(named, c)
		}
	}
	for k, v := range by {
		if !slices.Contains(codes.All, k) {
			other += v
		}
	}
	slices.SortStableFunc(named, func(a, b string) int {
		switch {
		case by[a] > by[b]:
			return -1
		case by[a] < by[b]:
			return 1
		}
		return 0
	})
	return named, other
}

// shortLabels name the codes too long for a panel's half column.
var shortLabels = map[string]string{
	codes.LimitExceeded: "limit",
	codes.RateLimited:   "rate-limited",
	codes.StoreDown:     "store down",
	codes.NotAllowed:    "bad method",
	codes.BodyTooLarge:  "too large",
	codes.GroupCreated:  "group made",
	codes.CouponLocked:  "coupon lock",
	codes.CircuitOpen:   "circuit open",
}

// codeLabel is a code by name, in words: SOLD_OUT is "sold out".
func codeLabel(c string) string {
	if l, ok := shortLabels[c]; ok {
		return l
	}
	return strings.ToLower(strings.ReplaceAll(c, "_", " "))
}

// salePanel shows the sale: one line per SKU (flash SKUs first) with units sold of the stock
// and the moment it sold out, then paid, released and oversold; oversold turns red the moment
// it is above zero. Without per-SKU readings it shows the totals. For the simulator (or a
// target that reports it) it adds replicas and the autoscaler.
func (m model) salePanel(w int) string {
	s, st := m.snap, m.st
	var b strings.Builder
	b.WriteString(st.section.Render("Sale"))
	cols := 3 // the sale spans the full width in the narrow layout, and a third in the wide one
	if w < 60 {
		cols = 2
	}
	cw := (w - (cols - 1)) / cols
	over := field("oversold", count(s.Oversold), cw)
	if s.Oversold > 0 {
		over = st.bad.Render(field("OVERSOLD", count(s.Oversold), cw))
	} else {
		over = st.good.Render(over)
	}
	var cells []string
	if len(s.SKUs) > 0 {
		b.WriteString(st.dim.Render("  sold/stock, * flash"))
		for _, k := range s.SKUs {
			b.WriteString("\n" + m.skuLine(k, w))
		}
		cells = []string{field("paid", count(s.Paid), cw), field("released", count(s.Released), cw), over}
	} else {
		if s.Stock > 0 {
			b.WriteString(st.dim.Render(fmt.Sprintf("  %s sold of %s", pct(float64(s.Sold)/float64(s.Stock)), count(s.Stock))))
		}
		cells = []string{
			field("stock", count(s.Stock), cw),
			field("left", count(s.StockLeft), cw),
			field("sold", count(s.Sold), cw),
			field("paid", count(s.Paid), cw),
			field("released", count(s.Released), cw),
			over,
		}
	}
	for i := 0; i < len(cells); i += cols {
		b.WriteString("\n" + strings.Join(cells[i:min(i+cols, len(cells))], " "))
	}
	if s.Mode == "sim" || s.Replicas > 0 || s.DesiredReplicas > 0 {
		fmt.Fprintf(&b, "\n%s ready %d / desired %d", st.section.Render("Replicas"), s.Replicas, s.DesiredReplicas)
		if s.Autoscaler != "" {
			b.WriteString("\n" + st.dim.Render("autoscaler: ") + s.Autoscaler)
		}
		b.WriteString(m.scaleLines(w))
	}
	b.WriteString(m.replicaLine(w))
	return b.String()
}

// skuLine is one SKU in width w: "phone-x*  200/200 sold out 1:00:12" or
// "catalogue  1.2k/20M 0.01%"; a * marks a flash SKU.
func (m model) skuLine(k result.SKUStats, w int) string {
	st := m.st
	name := printable(k.SKU)
	if k.Flash {
		name += "*"
	}
	state, styled := "unlimited", st.dim
	if k.Stock > 0 {
		state = pct(float64(k.Sold) / float64(k.Stock))
	}
	if k.SoldOutAtS != nil {
		state, styled = "sold out "+clock(time.Duration(finite(*k.SoldOutAtS)*float64(time.Second))), st.warn
	}
	if k.Oversold > 0 {
		state, styled = "OVERSOLD "+count(k.Oversold), st.bad
	}
	sold := count(k.Sold) + "/" + count(k.Stock)
	if ansi.StringWidth(name)+2+len(sold)+len(state) > w {
		sold = compact(float64(k.Sold)) + "/" + compact(float64(k.Stock))
	}
	pad := max(1, w-ansi.StringWidth(name)-1-len(sold)-len(state))
	return name + strings.Repeat(" ", pad) + sold + " " + styled.Render(state)
}
