package audit

import (
	"cmp"
	"slices"
	"sort"

	"github.com/flashload/flashload/result"
)

// limits counts the live units beyond a user's limit per SKU as duplicates, keyed or not.
func (c *checker) limits() {
	var overLimit int64
	var users []userSKU
	for k, n := range c.perUser {
		g := c.aggs[k.sku]
		if g != nil && g.limit > 0 && n > int64(g.limit) {
			overLimit += n - int64(g.limit)
			users = append(users, k)
		}
	}
	if overLimit == 0 {
		return
	}
	slices.SortFunc(users, func(a, b userSKU) int { return cmp.Or(cmp.Compare(a.sku, b.sku), cmp.Compare(a.user, b.user)) })
	c.a.Duplicates += overLimit
	c.violate("duplicates: %d units beyond the per-user limit (%d users, e.g. %s on %s)", overLimit, len(users), users[0].user, users[0].sku)
}

// perSKU works out each SKU's stock, units sold and left, oversold and undersold, adds them to
// the totals, and returns the per-SKU figures.
func (c *checker) perSKU() []result.SKUStats {
	in := c.in
	var out []result.SKUStats
	sort.Strings(c.order)
	for _, sku := range c.order {
		g := c.aggs[sku]
		sold, paid, released, stock := g.soldOrders, g.paid, g.released, g.stock
		if !g.statuses {
			// The store does not say which orders are paid: the client knows which it paid.
			paid = max(paid, min(g.clientPaid, sold))
		}
		available := stock - sold
		var serverOversold, serverUndersold, leftOversold int64
		if sv, ok := in.Server[sku]; ok {
			if sv.Stock > 0 || !g.known {
				stock = sv.Stock
			}
			sold = max(sold, sv.Sold, sv.Reserved+sv.Paid)
			paid = max(paid, sv.Paid)
			released = max(released, sv.Released)
			available = sv.Available
			serverOversold = sv.Oversold
			serverUndersold = sv.Undersold
			if sv.Stock != sv.Available+sv.Reserved+sv.Paid {
				c.violate("%s: conservation broken: stock %d != available %d + reserved %d + paid %d", sku, sv.Stock, sv.Available, sv.Reserved, sv.Paid)
			}
		} else if left, ok := in.Left[sku]; ok && g.known {
			available = left
			leftOversold = max(-left, 0)
			if left > 0 && left+sold > stock {
				c.violate("%s: conservation broken: %d units left + %d sold > stock %d: the service would sell %d units more than it has",
					sku, left, sold, stock, left+sold-stock)
			}
		} else if !g.known {
			// An SKU seen only in the orders: no stock to check against.
			c.a.Sold += sold
			c.a.Paid += paid
			c.a.Released += released
			out = append(out, result.SKUStats{SKU: sku, Sold: sold, Paid: paid, Released: released})
			continue
		}
		over := max(sold-stock, serverOversold, leftOversold, 0)
		// Units a store lost come back into its stock and are sold again (an asynchronous
		// failover): the store never holds more than its stock, yet buyers were promised more.
		// Acknowledged units beyond the stock are oversold as the buyers see it.
		var resold int64
		if g.known && stock > 0 {
			resold = max(sold+c.lostUnits[sku]-stock, 0)
		}
		storeOver := over
		if resold > over {
			c.violate("%s: %d units acknowledged beyond the stock of %d: units the store lost were sold again", sku, resold, stock)
			over = resold
		}
		k := result.SKUStats{SKU: sku, Stock: stock, Left: max(available, 0), Sold: sold, Paid: paid, Released: released, Oversold: over}
		if g.idx >= 0 {
			k.Flash, k.Lost = in.SKUs[g.idx].Flash(), c.lostBySKU[sku]
		}
		out = append(out, k)
		c.a.Stock += stock
		c.a.Sold += sold
		c.a.Paid += paid
		c.a.Released += released
		c.a.Oversold += over
		if storeOver > 0 {
			c.violate("%s: oversold %d (sold %d of stock %d)", sku, storeOver, sold, stock)
		}
		var under int64
		if g.soldOutAnswers > 0 && available > 0 {
			under = min(g.soldOutAnswers, available)
		}
		// A strategy that gives up (pg-occ after its retries) knows its undersold even when
		// the stock sold out later; the larger of the two counts.
		c.a.Undersold += max(under, serverUndersold)
	}
	result.SortSKUs(out)
	return out
}
