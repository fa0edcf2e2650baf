package inventory

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// tcc is Seata-style TCC (Try-Confirm-Cancel) between the order service and the stock, on PostgreSQL. Reserve
// is the transaction manager: it opens a global transaction (a random xid, which is also the
// order's id) and calls Try, which in one local transaction inserts the fence row (state t),
// freezes the units (available → reserved) and records the branch (the order). Phase two:
//   - Confirm (pay) moves the fence t → c and the frozen units to paid;
//   - Cancel (a user's cancel, the expiry sweep, or the manager's rollback of a Try whose
//     outcome it does not know) moves the fence t → x and unfreezes the units;
//   - both are idempotent: a second Confirm answers the paid order, a second Cancel the
//     released one, without touching the stock;
//   - a Cancel that finds no fence row (its Try has not arrived: an empty rollback) inserts
//     the fence in state e, and the late Try, whose fence INSERT then conflicts, is refused
//     (anti-suspension): no units stay frozen for a transaction already rolled back.
// All of it is fl_reserve (mode tcc) and fl_settle (p_tcc) in schema.sql.

// xidBase keeps tcc's random ids apart from the order sequence of pg-row and pg-occ.
const xidBase = 1 << 53

// newXID draws a global transaction id in [2^53, 2^62): 12 base-36 digits at most.
func newXID() int64 { return xidBase + rand.Int64N(1<<62-xidBase) }

// tccRollbackTries bounds the manager's retries of the rollback of an unknown Try; the
// reservation's expiry (also a Cancel) releases what a rollback could not reach.
const tccRollbackTries = 5

// try is Reserve for tcc.
func (s *pgStrategy) try(ctx context.Context, r *Request) (Order, bool, error) {
	for range 3 {
		xid := newXID()
		code, id, half, err := s.callReserve(ctx, r, 0, 0, xid)
		switch {
		case err == nil && code == "SUSPENDED":
			continue // the fence of this xid exists: a random collision, draw another
		case err == nil:
			return s.answer(ctx, r, code, id, half)
		case isPgCode(err, "FLSLD") || isPgCode(err, "FLLIM"):
			return Order{}, false, pgErr(err)
		}
		// The Try's outcome is unknown (timeout, lost connection): it may have committed, or
		// may still arrive. Phase two of a failed Try is a rollback.
		s.rollbackLater(r.SKU, xid)
		return Order{}, false, pgErr(err)
	}
	return Order{}, false, unavailable(errors.New("tcc: three xids collided"))
}

// rollbackLater cancels xid in the background, retrying a few times; until Close.
func (s *pgStrategy) rollbackLater(sku string, xid int64) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		wait := 50 * time.Millisecond
		for range tccRollbackTries {
			_, _, err := s.settle(s.bgctx, pgOrderID(sku, xid), "", time.Now(), "rollback")
			if err == nil || !errors.Is(err, ErrUnavailable) {
				return // released, already settled, or an empty rollback recorded
			}
			t := time.NewTimer(wait)
			select {
			case <-s.bgctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			wait *= 2
		}
	}()
}
