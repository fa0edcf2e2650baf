package sim

import (
	"context"
	"strconv"
	"time"

	"github.com/flashload/flashload/internal/codes"
	"github.com/flashload/flashload/scenario"
	"github.com/flashload/flashload/target/inventory"
)

// The team coupon and the group size the reference target knows (target/pricing.go): a
// purchase's coupon is checked against it, and a group holds at most groupMax members.
const (
	teamCoupon       = "TEAM3"
	groupMax         = 10
	teamCouponMember = 3
)

// book is the request mode's book of record: flashload's in-memory inventory driven by the
// simulator's virtual clock, behind the target's own rules (inventory.Admit, inventory.Code).
// A modelled purchase, pay, cancel or group join gets the answer the target would give in the
// same state: the sale window, the idempotency key, the per-user limit, the stock and the
// first-N half price, in the target's order, and reservations that expire on virtual time.
type book struct {
	inv    inventory.Strategy
	ctx    context.Context
	base   time.Time // the run clock's zero
	ttl    time.Duration
	sweep  time.Duration
	next   time.Duration // the next expiry sweep
	skus   []string
	limits []int64
	groups map[string]string // SKU → the group sessions join now (the live engine keeps one too)
	buf    []byte
}

// newBook configures the played SKUs in a fresh in-memory inventory: stock (1<<62 for an
// unlimited one), the per-user limit, the sale window on the run clock and the first-N count.
func newBook(skus []scenario.SKU, stock []int64, win []window, ttl time.Duration) *book {
	if ttl <= 0 {
		ttl = inventory.DefaultTTL
	}
	inv, _ := inventory.New(context.Background(), inventory.Config{Name: "memory"}) // in-process: cannot fail
	b := &book{inv: inv, ctx: context.Background(), base: time.Unix(1e9, 0), ttl: ttl, sweep: inventory.SweepEvery(ttl),
		groups: map[string]string{}}
	b.next = b.sweep
	for i, k := range skus {
		sk := inventory.SKU{SKU: k.SKU, Stock: stock[i], LimitPerUser: int64(k.LimitPerUser)}
		if k.Pricing != nil {
			sk.FirstNHalf = k.Pricing.FirstNHalf
		}
		if i < len(win) {
			if w := win[i]; w.open != always.open {
				sk.StartsAt = b.at(w.open)
			}
			if w := win[i]; w.end != always.end {
				sk.EndsAt = b.at(w.end)
			}
		}
		_ = inv.Configure(b.ctx, sk)
		b.skus = append(b.skus, k.SKU)
		b.limits = append(b.limits, int64(k.LimitPerUser))
	}
	return b
}

func (b *book) at(now time.Duration) time.Time { return b.base.Add(now) }

func (b *book) user(u int64) string {
	b.buf = strconv.AppendInt(b.buf[:0], u, 10)
	return string(b.buf)
}

// expire releases the reservations due by now, as the target's sweeper does every sweep.
func (b *book) expire(now time.Duration) {
	for b.next <= now {
		_, _ = b.inv.Expire(b.ctx, b.at(b.next))
		b.next += b.sweep
	}
}

// purchase is a purchase of qty units of SKU i by user, with an idempotency key: its status,
// code and, when reserved, the order.
func (b *book) purchase(now time.Duration, i int, user int64, key string, qty int, group, coupon string) (int, string, string) {
	if i < 0 || i >= len(b.skus) {
		return 404, codes.NotFound, ""
	}
	b.expire(now)
	u := b.user(user)
	if _, err := inventory.Admit(b.ctx, b.inv, b.skus[i], u, int64(qty), b.limits[i], group, coupon, teamCoupon); err != nil {
		return answerOf(err)
	}
	o, replay, err := b.inv.Reserve(b.ctx, inventory.Request{SKU: b.skus[i], User: u, Key: key, Qty: int64(qty),
		Group: group, Coupon: coupon, Now: b.at(now), TTL: b.ttl})
	if err != nil {
		return answerOf(err)
	}
	if replay {
		return 200, codes.Reserved, o.ID
	}
	return 201, codes.Reserved, o.ID
}

// settle pays (pay) or cancels an order as its user.
func (b *book) settle(now time.Duration, order string, user int64, pay bool) (int, string) {
	b.expire(now)
	var err error
	if pay {
		_, err = b.inv.Confirm(b.ctx, order, b.user(user), b.at(now))
	} else {
		_, err = b.inv.Release(b.ctx, order, b.user(user), b.at(now))
	}
	if err != nil {
		st, c, _ := answerOf(err)
		return st, c
	}
	if pay {
		return 200, codes.Paid
	}
	return 200, codes.Released
}

// join adds user to group: JOINED, or GROUP_FULL (or NOT_FOUND) as the target answers.
func (b *book) join(group string, user int64) (int, string) {
	if _, err := b.inv.JoinGroup(b.ctx, group, b.user(user), groupMax, teamCouponMember); err != nil {
		st, c, _ := answerOf(err)
		return st, c
	}
	return 200, codes.Joined
}

// create opens a group of SKU i: its id, or the answer that refused it.
func (b *book) create(i int) (int, string, string) {
	if i < 0 || i >= len(b.skus) {
		return 404, codes.NotFound, ""
	}
	id, err := b.inv.CreateGroup(b.ctx, b.skus[i])
	if err != nil {
		return answerOf(err)
	}
	return 201, codes.GroupCreated, id
}

// opened makes group the SKU's open group: its creator's answer arrived. As in the live
// engine, the sessions learn of a new group only then: join_group steps sent meanwhile still
// find the full one and open groups of their own.
func (b *book) opened(i int, group string) {
	if i >= 0 && i < len(b.skus) && group != "" {
		b.groups[b.skus[i]] = group
	}
}

// group is the SKU's open group ("" for none), which a join_group step finds when it is sent.
func (b *book) group(i int) string {
	if i < 0 || i >= len(b.skus) {
		return ""
	}
	return b.groups[b.skus[i]]
}

// left is the units of SKU i still available, and paid the units paid.
func (b *book) counts(i int) (left, paid int64) {
	c, err := b.inv.Counts(b.ctx, b.skus[i])
	if err != nil {
		return 0, 0
	}
	return c.Available, c.Paid
}

func answerOf(err error) (int, string, string) {
	c := inventory.Code(err)
	return inventory.StatusOf(c), c, ""
}
