package inventory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgStrategy is pg-row, pg-occ and tcc: all state in PostgreSQL (catalogue, stock, orders,
// holds, fences, groups), so any number of replicas on one database are one service. The
// three differ in how a purchase takes the stock (see fl_reserve in schema.sql):
//   - pg-row: one transaction, the conditional UPDATE of the SKU row and the order INSERT;
//   - pg-occ: read the row and its version, then write WHERE version = the one read, retrying a
//     lost write at most OCCRetries times with jittered backoff; a SOLD_OUT after the retries
//     while units were left is counted as undersold;
//   - tcc: Try freezes units and records the branch under a fence row; Confirm and Cancel are
//     idempotent through the fence; see tcc.go.
type pgStrategy struct {
	pgCatalog
	name string
	mode string // row, occ, tcc
	// occRetries bounds pg-occ's retries of a lost conditional write.
	occRetries int
	// tcc's rollbacks run in the background until Close.
	bg     sync.WaitGroup
	bgctx  context.Context
	bgstop context.CancelFunc
}

// OCCRetries is how many times pg-occ retries a conditional write that lost to another.
const OCCRetries = 5

// occBackoff is the first retry's backoff bound; it doubles each retry (full jitter).
const occBackoff = 500 * time.Microsecond

func newPostgres(ctx context.Context, cfg Config) (*pgStrategy, error) {
	db, err := openPostgres(ctx, cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("strategy %s: %w", cfg.Name, err)
	}
	s := &pgStrategy{pgCatalog: pgCatalog{db}, name: cfg.Name, occRetries: OCCRetries}
	s.bgctx, s.bgstop = context.WithCancel(context.WithoutCancel(ctx))
	switch cfg.Name {
	case "pg-row":
		s.mode = "row"
	case "pg-occ":
		s.mode = "occ"
	case "tcc":
		s.mode = "tcc"
	}
	return s, nil
}

func (s *pgStrategy) Name() string { return s.name }

func (s *pgStrategy) Close() error {
	s.bgstop()
	s.bg.Wait()
	s.db.Close()
	return nil
}

func (s *pgStrategy) Configure(ctx context.Context, k SKU) error {
	def := k.Def
	if def == nil {
		def = []byte{}
	}
	_, err := s.db.Exec(ctx, "SELECT fl_configure($1, $2, $3, $4, $5, $6, $7)", k.SKU, def, k.Stock,
		k.LimitPerUser, nullTime(k.StartsAt), nullTime(k.EndsAt), k.FirstNHalf)
	return unavailable(err)
}

// reserveSQL calls fl_reserve (schema.sql) with the arguments in callReserve's order.
const reserveSQL = "SELECT code, o_id, o_half FROM fl_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"

// callReserve runs fl_reserve once. A unique violation or FLRPL (the same key committed by
// another replica or a retry while this call waited for a lock) is retried once, which
// answers the replay.
func (s *pgStrategy) callReserve(ctx context.Context, r *Request, read, version, xid int64) (code string, id, half int64, err error) {
	exp := r.Now.Add(r.TTL)
	for try := 0; ; try++ {
		err = s.db.QueryRow(ctx, reserveSQL, s.mode, r.SKU, r.User, r.Key, int64(r.FP), r.Qty, r.UnitPrice,
			r.Group, r.Coupon, r.Now, exp, read, version, xid).Scan(&code, &id, &half)
		if err != nil && try == 0 && (isPgCode(err, "23505") || isPgCode(err, "FLRPL")) {
			continue
		}
		return code, id, half, err
	}
}

// reserved builds the order fl_reserve just stored.
func reserved(r *Request, id, half int64) Order {
	return Order{ID: pgOrderID(r.SKU, id), Key: r.Key, User: r.User, SKU: r.SKU, Qty: r.Qty, Status: Reserved,
		Unit: r.UnitPrice, Half: half, Price: Total(r.UnitPrice, r.Qty, half), Group: r.Group, Coupon: r.Coupon,
		FP: r.FP, CreatedAt: r.Now, ExpiresAt: r.Now.Add(r.TTL)}
}

// answer turns fl_reserve's code into Reserve's result.
func (s *pgStrategy) answer(ctx context.Context, r *Request, code string, id, half int64) (Order, bool, error) {
	switch code {
	case "RESERVED":
		return reserved(r, id, half), false, nil
	case "REPLAY":
		o, err := s.Order(ctx, pgOrderID(r.SKU, id))
		return o, err == nil, err
	case "UNKNOWN_SKU":
		return Order{}, false, ErrUnknownSKU
	case "NOT_STARTED":
		return Order{}, false, ErrNotStarted
	case "ENDED":
		return Order{}, false, ErrEnded
	case "KEY_REUSED":
		return Order{}, false, ErrKeyReused
	case "LIMIT":
		return Order{}, false, ErrLimit
	case "SOLD_OUT":
		return Order{}, false, ErrSoldOut
	}
	return Order{}, false, unavailable(errors.New("fl_reserve answered " + code))
}

func (s *pgStrategy) Reserve(ctx context.Context, r Request) (Order, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, pgCallTimeout)
	defer cancel()
	switch s.mode {
	case "occ":
		return s.reserveOCC(ctx, &r)
	case "tcc":
		return s.try(ctx, &r)
	}
	code, id, half, err := s.callReserve(ctx, &r, 0, 0, 0)
	if err != nil {
		return Order{}, false, pgErr(err)
	}
	return s.answer(ctx, &r, code, id, half)
}

// reserveOCC reads the stock and its version, then writes WHERE version matches; a lost
// write is retried after a jittered backoff, at most occRetries times.
func (s *pgStrategy) reserveOCC(ctx context.Context, r *Request) (Order, bool, error) {
	var conflicts int64
	for attempt := 0; ; attempt++ {
		var avail, version int64
		err := s.db.QueryRow(ctx, "SELECT available, version FROM fl_skus WHERE sku = $1", r.SKU).Scan(&avail, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return Order{}, false, ErrUnknownSKU
		}
		if err != nil {
			return Order{}, false, unavailable(err)
		}
		code, id, half, err := s.callReserve(ctx, r, avail, version, 0)
		if err == nil {
			return s.answer(ctx, r, code, id, half)
		}
		if !isPgCode(err, "FLCNF") {
			return Order{}, false, pgErr(err)
		}
		conflicts++
		if attempt >= s.occRetries {
			break
		}
		t := time.NewTimer(rand.N(occBackoff << attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return Order{}, false, unavailable(ctx.Err())
		case <-t.C:
		}
	}
	// Out of retries: SOLD_OUT, counted as undersold when units were still left.
	_, err := s.db.Exec(ctx, `UPDATE fl_skus SET conflicts = conflicts + $2,
		undersold = undersold + CASE WHEN available >= $3 THEN 1 ELSE 0 END WHERE sku = $1`, r.SKU, conflicts, r.Qty)
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	return Order{}, false, ErrSoldOut
}

// settleSQL calls fl_settle and spreads the order it answers.
const settleSQL = `SELECT s.code, coalesce((s.o).key, ''), coalesce((s.o).user_id, ''), coalesce((s.o).qty, 0),
	coalesce((s.o).unit, 0), coalesce((s.o).half, 0), coalesce((s.o).grp, ''), coalesce((s.o).coupon, ''),
	coalesce((s.o).fp, 0), coalesce((s.o).status, 'r'), coalesce((s.o).created_at, 'epoch'), coalesce((s.o).expires_at, 'epoch')
	FROM fl_settle($1, $2, $3, $4, $5) s`

func (s *pgStrategy) settle(ctx context.Context, id, user string, now time.Time, op string) (Order, string, error) {
	sku, seq, ok := pgSeq(id)
	if !ok {
		return Order{}, "", ErrNoOrder
	}
	ctx, cancel := context.WithTimeout(ctx, pgCallTimeout)
	defer cancel()
	o := Order{ID: id, SKU: sku}
	var code string
	var st byte
	var fp int64
	err := s.db.QueryRow(ctx, settleSQL, s.mode == "tcc", seq, user, now, op).Scan(&code, &o.Key, &o.User,
		&o.Qty, &o.Unit, &o.Half, &o.Group, &o.Coupon, &fp, &st, &o.CreatedAt, &o.ExpiresAt)
	if err != nil {
		return Order{}, "", unavailable(err)
	}
	o.FP, o.Status, o.Price = uint64(fp), pgStatus(st), Total(o.Unit, o.Qty, o.Half)
	switch code {
	case "PAID", "RELEASED", "RELEASED_NOW":
		return o, code, nil
	case "NO_ORDER", "EMPTY_ROLLBACK":
		return Order{}, code, ErrNoOrder
	case "FORBIDDEN":
		return Order{}, code, ErrForbidden
	case "ALREADY_PAID":
		return o, code, ErrPaid
	case "EXPIRED", "EXPIRED_NOW":
		return o, code, ErrExpired
	case "NOT_DUE":
		return o, code, nil
	}
	return Order{}, code, unavailable(errors.New("fl_settle answered " + code))
}

func pgStatus(b byte) Status {
	switch b {
	case 'p':
		return Paid
	case 'x':
		return Released
	}
	return Reserved
}

func (s *pgStrategy) Confirm(ctx context.Context, id, user string, now time.Time) (Order, error) {
	o, _, err := s.settle(ctx, id, user, now, "pay")
	return o, err
}

func (s *pgStrategy) Release(ctx context.Context, id, user string, now time.Time) (Order, error) {
	op := "cancel"
	if user == "" {
		op = "expire"
	}
	o, _, err := s.settle(ctx, id, user, now, op)
	return o, err
}

const orderCols = "id, sku, key, user_id, qty, unit, half, grp, coupon, fp, status, created_at, expires_at"

func scanOrder(row pgx.Row, o *Order) error {
	var id, fp int64
	var st byte
	if err := row.Scan(&id, &o.SKU, &o.Key, &o.User, &o.Qty, &o.Unit, &o.Half, &o.Group, &o.Coupon, &fp, &st,
		&o.CreatedAt, &o.ExpiresAt); err != nil {
		return err
	}
	o.ID, o.FP, o.Status, o.Price = pgOrderID(o.SKU, id), uint64(fp), pgStatus(st), Total(o.Unit, o.Qty, o.Half)
	return nil
}

func (s *pgStrategy) Order(ctx context.Context, id string) (Order, error) {
	sku, seq, ok := pgSeq(id)
	if !ok {
		return Order{}, ErrNoOrder
	}
	var o Order
	err := scanOrder(s.db.QueryRow(ctx, "SELECT "+orderCols+" FROM fl_orders WHERE id = $1 AND sku = $2", seq, sku), &o)
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, ErrNoOrder
	}
	if err != nil {
		return Order{}, unavailable(err)
	}
	return o, nil
}

// expireBatch is how many due orders one sweep query picks.
const expireBatch = 256

// Expire releases due reservations, each in its own transaction (fl_settle with op expire):
// the order row's status decides under its lock, so replicas sweeping at once release every
// order exactly once, and the hot SKU row is never held across a batch.
func (s *pgStrategy) Expire(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for {
		rows, err := s.db.Query(ctx, `SELECT id, sku FROM fl_orders WHERE status = 'r' AND expires_at <= $1
			ORDER BY expires_at LIMIT $2`, now, expireBatch)
		if err != nil {
			return n, unavailable(err)
		}
		type due struct {
			id  int64
			sku string
		}
		var ids []due
		var d due
		if _, err := pgx.ForEachRow(rows, []any{&d.id, &d.sku}, func() error {
			ids = append(ids, d)
			return nil
		}); err != nil {
			return n, unavailable(err)
		}
		for _, d := range ids {
			_, code, err := s.settle(ctx, pgOrderID(d.sku, d.id), "", now, "expire")
			if err != nil && !errors.Is(err, ErrNoOrder) {
				return n, err
			}
			if code == "RELEASED_NOW" {
				n++
			}
		}
		if len(ids) < expireBatch {
			return n, nil
		}
	}
}

const countsSQL = "SELECT stock, available, reserved, paid, released, orders, taken FROM fl_skus WHERE sku = $1"

func (s *pgStrategy) Counts(ctx context.Context, sku string) (Counts, error) {
	var c Counts
	err := s.db.QueryRow(ctx, countsSQL, sku).Scan(&c.Stock, &c.Available, &c.Reserved, &c.Paid, &c.Released, &c.Orders, &c.Taken)
	if errors.Is(err, pgx.ErrNoRows) {
		return Counts{}, ErrUnknownSKU
	}
	if err != nil {
		return Counts{}, unavailable(err)
	}
	return c, nil
}

// Audit reads the counters and checks the stored orders themselves: orders beyond one per
// idempotency key, and live units beyond the per-user limit, in one snapshot.
func (s *pgStrategy) Audit(ctx context.Context, sku string) (Audit, error) {
	var a Audit
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		c := &a.Counts
		var lim int64
		err := tx.QueryRow(ctx, "SELECT stock, available, reserved, paid, released, orders, taken, undersold, limit_per_user FROM fl_skus WHERE sku = $1",
			sku).Scan(&c.Stock, &c.Available, &c.Reserved, &c.Paid, &c.Released, &c.Orders, &c.Taken, &a.Undersold, &lim)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT
			(SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM fl_orders WHERE sku = $1 AND key <> ''
				GROUP BY user_id, key HAVING count(*) > 1) k)
			+ (SELECT coalesce(sum(h - $2), 0) FROM (SELECT sum(qty) AS h FROM fl_orders WHERE sku = $1 AND status <> 'x'
				GROUP BY user_id) u WHERE $2 > 0 AND h > $2)`, sku, lim).Scan(&a.Duplicates)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Audit{}, ErrUnknownSKU
	}
	if err != nil {
		return Audit{}, unavailable(err)
	}
	u := a.Undersold
	a = finish(a.Counts, a.Duplicates)
	a.Undersold = u
	return a, nil
}

func (s *pgStrategy) Orders(ctx context.Context, sku string, fn func(*Order) error) error {
	var exists bool
	if err := s.db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM fl_skus WHERE sku = $1)", sku).Scan(&exists); err != nil {
		return unavailable(err)
	}
	if !exists {
		return ErrUnknownSKU
	}
	rows, err := s.db.Query(ctx, "SELECT "+orderCols+" FROM fl_orders WHERE sku = $1", sku)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	var o Order
	for rows.Next() {
		if err := scanOrder(rows, &o); err != nil {
			return unavailable(err)
		}
		if err := fn(&o); err != nil {
			return err
		}
	}
	return unavailable(rows.Err())
}

var _ Strategy = (*pgStrategy)(nil)
