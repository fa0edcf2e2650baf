// Package audit is the invariant checker of a flash sale: a pure function of what the client saw
// (its purchase attempts, each with its final outcome) and what the service stored (its orders,
// and its counters or units left per SKU). It counts oversold, lost, unexpected, duplicate and
// undersold units, and says why in violations.
//
// Data enters as an Input: the attempts (the live engine's log, or a run directory's attempts
// file, attempts.go), the orders (ReadOrders for exports; package audit/store reads a service's
// database, HTTP export or Redis) and, for flashload's target, its /admin/audit counters. It
// leaves as a Report: the summary's audit block and its per-SKU figures.
package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/flashload/flashload/outcome"
	"github.com/flashload/flashload/result"
	"github.com/flashload/flashload/scenario"
)

// SKUAudit is one SKU of a flashload target's GET /admin/audit.
type SKUAudit struct {
	SKU        string `json:"sku"`
	Stock      int64  `json:"stock"`
	Available  int64  `json:"available"`
	Reserved   int64  `json:"reserved"`
	Paid       int64  `json:"paid"`
	Released   int64  `json:"released"`
	Sold       int64  `json:"sold"`
	Oversold   int64  `json:"oversold"`
	Orders     int64  `json:"orders"`
	Duplicates int64  `json:"duplicates"`
	Undersold  int64  `json:"undersold"` // SOLD_OUT answers the server knows it gave while units were left (pg-occ)
}

// Input is everything the join needs. Server is nil when only the orders are known.
type Input struct {
	Run string // the run id: the prefix of this run's idempotency keys
	// Segment is the run's share of the arrivals. Generators of one coordinated run share the key
	// prefix; an order whose key is the run's but whose arrival is another segment's is that
	// generator's to audit, not unexpected here.
	Segment  scenario.Segment
	SKUs     []scenario.SKU // the scenario's SKUs: stock and per-user limit
	Attempts []Attempt
	Orders   []Order
	Server   map[string]SKUAudit // by SKU, from a flashload target's /admin/audit
	// Left is the units left per SKU as the service's own store counts them (the scenario's
	// audit.stock); nil when not read.
	Left map[string]int64
	// Forgotten are scenario SKUs the target no longer knows (404): their store lost them, and
	// every order with them.
	Forgotten []string
}

// Report is the audit with its per-SKU figures (Summary.SKUs).
type Report struct {
	result.Audit
	SKUs []result.SKUStats // flash SKUs first, then by name
}

const maxViolations = 20

// Check joins what the client saw with what the service stored and checks the sale's invariants:
//   - oversold: units sold beyond the stock, from the server's counters, the stored live orders
//     or a negative count of units left, whichever is largest (a strategy that oversells may not
//     count it); acknowledged units beyond the stock count too (stored live units plus the lost
//     ones), when a store that lost orders sold their units again;
//   - conservation: stock = available + reserved + paid, when a flashload target reports
//     counters; units left + units sold never above the stock, when the service's stock is read;
//   - lost: acknowledged attempts with no stored order for their key; without keys, acknowledged
//     units of a (user, SKU) beyond the units stored for it;
//   - unknown: attempts whose outcome the client could not know (no answer after sending, a
//     5xx that may have done the work, IN_FLIGHT): counted apart, never lost nor unexpected;
//   - unexpected: stored orders whose key no attempt of this run used, or whose attempt ended in
//     a definite failure; without keys, units stored for a (user, SKU) beyond its acknowledged
//     and unknown ones;
//   - duplicates: orders beyond the first per key, and live units beyond a user's limit per SKU;
//   - undersold: SOLD_OUT answers while units were still available at the end, or as many as
//     the server counted itself when that is more (not a violation);
//   - paid: the stored orders' paid units; when a SKU's orders carry no status, the units of
//     the acknowledged purchases a later step paid (pay, settles:) that the store holds;
//   - unpaid: units the client was told were paid whose stored order is live but not paid (a
//     violation), when the orders carry a status.
func Check(in Input) Report {
	c := newChecker(&in)
	c.keyed()
	c.keyless()
	c.lostAndUnknown()
	c.reportJoin()
	c.limits()
	return Report{Audit: c.a, SKUs: c.perSKU()}
}

// skuAgg is what the join gathers about one SKU.
type skuAgg struct {
	stock, soldOrders, paid, released int64
	soldOutAnswers                    int64
	clientPaid                        int64 // units of acknowledged purchases the client paid
	statuses                          bool  // an order of the SKU says its status
	limit                             int
	known                             bool
	idx                               int // index in Input.SKUs, -1 for an SKU seen only in the orders
}

type userSKU struct{ user, sku string }

// pool is one (user, SKU) of the keyless join: units the client was told it bought, units whose
// outcome it could not know, and units the service stored without a key.
type pool struct {
	acked, unknown, stored int64
	paidAcked, paidStored  int64 // units paid for by the client, and stored paid
	statuses               bool  // a stored order of the pool says its status
}

// checker holds the join's state between its phases.
type checker struct {
	in    *Input
	a     result.Audit
	aggs  map[string]*skuAgg
	order []string // SKUs in the order first seen
	byKey map[uint64]int
	found []bool // per attempt: a stored order matched it by key
	// perUser counts live units per (user, SKU), keyed or not, for the per-user limit.
	perUser   map[userSKU]int64
	lostBySKU map[string]int64 // lost purchases (keyed) or units (keyless), by SKU
	lostUnits map[string]int64 // units of the lost purchases, by SKU

	lostExample, unexpectedExample, dupExample string
	unpaid                                     int64 // units paid for by the client, stored live but unpaid
	unpaidExample                              string
}

func newChecker(in *Input) *checker {
	c := &checker{in: in, a: result.Audit{Checked: true, Violations: []string{}}, aggs: map[string]*skuAgg{},
		byKey: make(map[uint64]int, len(in.Attempts)), found: make([]bool, len(in.Attempts)),
		perUser: map[userSKU]int64{}, lostBySKU: map[string]int64{}, lostUnits: map[string]int64{}}
	for i, s := range in.SKUs {
		g := c.agg(s.SKU)
		g.stock, g.limit, g.known, g.idx = s.Stock, s.LimitPerUser, true, i
	}
	for i := range in.Attempts {
		at := &in.Attempts[i]
		c.byKey[attemptKey(at.Seq, at.Step)] = i
		if (at.SoldOut() || at.Outcome == outcome.SoldOut) && int(at.SKU) < len(in.SKUs) {
			c.agg(in.SKUs[at.SKU].SKU).soldOutAnswers++
		}
		if at.Paid() && at.Outcome == outcome.Acknowledged && int(at.SKU) < len(in.SKUs) {
			c.agg(in.SKUs[at.SKU].SKU).clientPaid += at.units()
		}
	}
	return c
}

func attemptKey(seq int64, step uint16) uint64 { return uint64(seq)<<16 | uint64(step) }

func (c *checker) agg(sku string) *skuAgg {
	g := c.aggs[sku]
	if g == nil {
		g = &skuAgg{idx: -1}
		c.aggs[sku] = g
		c.order = append(c.order, sku)
	}
	return g
}

func (c *checker) violate(format string, args ...any) {
	if len(c.a.Violations) < maxViolations {
		c.a.Violations = append(c.a.Violations, fmt.Sprintf(format, args...))
	}
}

// skuName is the name of an attempt's SKU, "" when the scenario does not list it.
func (c *checker) skuName(at *Attempt) string {
	if int(at.SKU) < len(c.in.SKUs) {
		return c.in.SKUs[at.SKU].SKU
	}
	return ""
}

// keyed counts every order into its SKU's figures and matches the orders that carry a key to
// the attempts by it: duplicates per key, and orders no attempt of this run acknowledged.
func (c *checker) keyed() {
	in := c.in
	perKey := map[string]int{}
	for i := range in.Orders {
		o := &in.Orders[i]
		g := c.agg(o.SKU)
		if o.Live() {
			g.soldOrders += o.Qty
			c.perUser[userSKU{o.User, o.SKU}] += o.Qty
		} else {
			g.released += o.Qty
		}
		if o.paid() {
			g.paid += o.Qty
		}
		if o.Status != "" {
			g.statuses = true
		}
		if o.Key == "" {
			continue
		}
		if perKey[o.Key]++; perKey[o.Key] >= 2 {
			c.a.Duplicates++
			if c.dupExample == "" {
				c.dupExample = o.Key
			}
		}
		seq, step, ours := ParseKey(o.Key, in.Run)
		idx, attempted := c.byKey[attemptKey(seq, step)]
		switch {
		case ours && !in.Segment.Contains(seq):
		case !ours || !attempted:
			c.a.Unexpected++
			c.unexpectedExample = o.Key
		case in.Attempts[idx].Outcome.Rejected():
			c.a.Unexpected++
			c.unexpectedExample = o.Key
			c.found[idx] = true
		default:
			c.found[idx] = true
			if in.Attempts[idx].Paid() && o.unpaid() {
				c.unpaid += o.Qty
				c.unpaidExample = "key " + o.Key
			}
		}
	}
}

// keyless matches the orders without a key to the attempts no keyed order matched, per
// (user, SKU): units acknowledged beyond those stored are lost, units stored beyond those
// acknowledged and unknown are unexpected. With a segment of a coordinated run, the other
// generators' buyers are in the same store under no key of theirs, so unexpected is not
// counted there. Attempts it accounts for are marked found.
func (c *checker) keyless() {
	in := c.in
	pools := map[userSKU]*pool{}
	get := func(k userSKU) *pool {
		p := pools[k]
		if p == nil {
			p = &pool{}
			pools[k] = p
		}
		return p
	}
	any := false
	for i := range in.Orders {
		if o := &in.Orders[i]; o.Key == "" {
			p := get(userSKU{o.User, o.SKU})
			p.stored += o.Qty
			if o.paid() {
				p.paidStored += o.Qty
			}
			p.statuses = p.statuses || o.Status != ""
			any = true
		}
	}
	if !any {
		return
	}
	for i := range in.Attempts {
		at := &in.Attempts[i]
		sku := c.skuName(at)
		if c.found[i] || sku == "" {
			continue
		}
		k := userSKU{strconv.FormatInt(at.User, 10), sku}
		switch at.Outcome {
		case outcome.Acknowledged:
			p := get(k)
			p.acked += at.units()
			if at.Paid() {
				p.paidAcked += at.units()
			}
		case outcome.Unknown, outcome.Pending:
			get(k).unknown += at.units()
		default:
			continue
		}
		c.found[i] = true // accounted for by its pool, below
	}
	keys := make([]userSKU, 0, len(pools))
	for k := range pools {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b userSKU) int { return cmp.Or(cmp.Compare(a.sku, b.sku), cmp.Compare(a.user, b.user)) })
	for _, k := range keys {
		p := pools[k]
		if lost := p.acked - p.stored; lost > 0 {
			c.a.Lost += lost
			c.lostBySKU[k.sku] += lost
			c.lostUnits[k.sku] += lost
			if c.lostExample == "" {
				c.lostExample = "user " + k.user + " on " + k.sku
			}
		}
		if unpaid := min(p.paidAcked, p.stored) - p.paidStored; unpaid > 0 && p.statuses {
			c.unpaid += unpaid
			if c.unpaidExample == "" {
				c.unpaidExample = "user " + k.user + " on " + k.sku
			}
		}
		if extra := p.stored - p.acked - p.unknown; extra > 0 && in.Segment.Whole() {
			c.a.Unexpected += extra
			if c.unexpectedExample == "" {
				c.unexpectedExample = "user " + k.user + " on " + k.sku
			}
		}
	}
}

// lostAndUnknown counts the attempts whose outcome the client could not know, and the
// acknowledged ones no order accounts for.
func (c *checker) lostAndUnknown() {
	in := c.in
	for i := range in.Attempts {
		at := &in.Attempts[i]
		switch at.Outcome {
		case outcome.Unknown, outcome.Pending:
			// The client cannot know whether it happened: neither lost when missing nor
			// unexpected when stored (Jepsen's info operations).
			c.a.Unknown++
		}
		if at.Outcome == outcome.Acknowledged && !c.found[i] {
			sku := c.skuName(at)
			c.lostBySKU[sku]++
			c.lostUnits[sku] += at.units()
			c.a.Lost++
			if c.lostExample == "" {
				c.lostExample = "key " + string(AppendKey(nil, in.Run, at.Seq, at.Step))
			}
		}
	}
}

// reportJoin states what the join found as violations.
func (c *checker) reportJoin() {
	for _, sku := range c.in.Forgotten {
		c.violate("%s: the target no longer knows this SKU: its store lost it and its orders", sku)
	}
	if c.a.Lost > 0 {
		c.violate("lost: %d acknowledged purchases have no stored order (e.g. %s)", c.a.Lost, c.lostExample)
	}
	if c.a.Unexpected > 0 {
		c.violate("unexpected: %d stored orders were never acknowledged by this run (e.g. %q)", c.a.Unexpected, c.unexpectedExample)
	}
	if c.a.Duplicates > 0 {
		c.violate("duplicates: %d orders repeat an idempotency key (e.g. %q)", c.a.Duplicates, c.dupExample)
	}
	if c.unpaid > 0 {
		c.violate("unpaid: %d units the client was told were paid are stored unpaid (e.g. %s)", c.unpaid, c.unpaidExample)
	}
}

// Store is a service's own book of record, read once the load is over: its orders and, when it
// says, the units left per SKU. Package audit/store reads databases, HTTP exports, files and
// Redis behind it.
type Store interface {
	Read(ctx context.Context) (Truth, error)
}

// Truth is what a Store read.
type Truth struct {
	Orders []Order
	Left   map[string]int64 // units left per SKU; nil when the store does not say
}
