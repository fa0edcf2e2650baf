package inventory

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/flashload/flashload/internal/codes"
)

// The service's rules around a purchase, pay and cancel that are not the stock's own: the
// target's handlers apply them over HTTP, and the simulator applies the same functions to an
// in-memory strategy on its virtual clock, so a modelled answer is the target's answer. The
// order is the target's: the request's shape (quantity against the per-user limit), the
// group and the coupon, then Reserve (window, idempotency key, per-user limit, stock,
// first-N half price).

// DefaultTTL is how long an unpaid reservation holds its units before it is released.
const DefaultTTL = 5 * time.Minute

// SweepEvery is how often the service releases expired reservations: a tenth of their TTL,
// between 20 ms and 1 s, so a reservation outlives its TTL by at most a tenth of it.
func SweepEvery(ttl time.Duration) time.Duration {
	return min(max(ttl/10, 20*time.Millisecond), time.Second)
}

// Errors of the purchase rules (besides the stock's own).
var (
	ErrQtyOverLimit  = errors.New("qty above the per-user limit")
	ErrGroupSKU      = errors.New("the group is for another sku")
	ErrNotMember     = errors.New("join the group before buying in it")
	ErrUnknownCoupon = errors.New("unknown coupon")
	ErrCouponLocked  = errors.New("the coupon unlocks in a group of 3")
)

// Admit checks a purchase's quantity, group and coupon before Reserve. It answers the group's
// member count (0 without a group), which prices the purchase. coupon is checked against
// validCoupon, the one coupon the service knows.
func Admit(ctx context.Context, c Catalog, sku, user string, qty, limit int64, group, coupon, validCoupon string) (members int, err error) {
	if limit > 0 && qty > limit {
		return 0, ErrQtyOverLimit
	}
	if group != "" {
		gsku, ms, err := c.Group(ctx, group)
		switch {
		case err != nil:
			return 0, err
		case gsku != sku:
			return 0, ErrGroupSKU
		case !slices.Contains(ms, user):
			return 0, ErrNotMember
		}
		members = len(ms)
	}
	if coupon != "" {
		if coupon != validCoupon {
			return 0, ErrUnknownCoupon
		}
		has, err := c.HasCoupon(ctx, sku, user)
		if err != nil {
			return 0, err
		}
		if !has {
			return 0, ErrCouponLocked
		}
	}
	return members, nil
}

// Code is the answer code of an error of the store or of the rules: what the service answers
// (codes.Status gives the HTTP status, 400 for BAD_REQUEST). An error it does not know is the
// store being unavailable.
func Code(err error) string {
	for _, m := range errCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return codes.StoreDown
}

var errCodes = []struct {
	err  error
	code string
}{
	{ErrSoldOut, codes.SoldOut},
	{ErrLimit, codes.LimitExceeded},
	{ErrQtyOverLimit, codes.LimitExceeded},
	{ErrInFlight, codes.InFlight},
	{ErrKeyReused, codes.KeyReused},
	{ErrUnknownSKU, codes.NotFound},
	{ErrNoOrder, codes.NotFound},
	{ErrNoGroup, codes.NotFound},
	{ErrExpired, codes.Expired},
	{ErrPaid, codes.AlreadyPaid},
	{ErrForbidden, codes.Forbidden},
	{ErrNotStarted, codes.NotStarted},
	{ErrEnded, codes.SaleEnded},
	{ErrPending, codes.Pending},
	{ErrBusy, codes.Shed},
	{ErrNotSupported, codes.NotSupported},
	{ErrGroupFull, codes.GroupFull},
	{ErrGroupSKU, codes.BadRequest},
	{ErrNotMember, codes.NotMember},
	{ErrUnknownCoupon, codes.BadRequest},
	{ErrCouponLocked, codes.CouponLocked},
}

// StatusOf is the HTTP status the service answers code with.
func StatusOf(code string) int {
	if code == codes.BadRequest {
		return 400
	}
	return codes.Status(code)
}
