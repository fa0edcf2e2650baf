// Package inventory holds the stock architectures of the reference target behind one interface,
// Strategy: reserve units for a user, confirm (pay) or release them, expire stale reservations,
// and audit what was sold. Orders live where the strategy's stock lives (process memory or
// Redis), so an audit reads stock and orders from the same place and stays consistent.
//
// Strategies, by name (see New):
//   - naive: read, check, write back, with a yield in between. The anti-pattern, kept on
//     purpose: it oversells under concurrency and its audit shows it.
//   - memory: one mutex per SKU over stock, per-user counts, idempotency keys and orders.
//   - sharded: N buckets per SKU, each with its own lock and share of the stock; users are routed
//     to a home bucket and steal from the others when it runs dry.
//   - redis-decr: DECRBY, and INCRBY back when the result is negative (the seed's example).
//   - redis-lua: one preloaded Lua script checks the window, the per-user limit, the idempotency
//     key and the stock, decrements and records the order atomically.
//   - redis-sharded: N stock keys with distinct hash tags (Redis Cluster ready), users routed to a
//     bucket, probing the others when it is empty.
//   - pg-row, pg-occ, tcc: every piece of state in PostgreSQL (pgstock.go, tcc.go, schema.sql):
//     a conditional UPDATE in one transaction, optimistic versioned writes with bounded
//     retries, and Seata-style TCC with a fence table.
//   - redis-lock: a SET NX PX lock per SKU around a read-check-write of redis-lua's keys
//     (redislock.go); a holder that outlives the lock's TTL lets a second one in, and the
//     audit shows the oversell.
//   - redis-mq: one Lua script checks and decrements in Redis and appends the order to a Redis
//     Stream; consumers persist it to PostgreSQL, the book of record (redismq.go).
//
// Idempotency keys are scoped to (SKU, user). Prices are computed by the caller (Request.UnitPrice)
// except for the first-N half price, which depends on the unit's rank and so is decided
// atomically with the stock (Order.Half units at 50%).
package inventory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Errors a Strategy answers with; the target maps each to an HTTP status and code.
var (
	ErrSoldOut     = errors.New("sold out")
	ErrLimit       = errors.New("per-user limit exceeded")
	ErrInFlight    = errors.New("a request with this idempotency key is in flight")
	ErrKeyReused   = errors.New("idempotency key reused with another request")
	ErrUnknownSKU  = errors.New("unknown sku")
	ErrNoOrder     = errors.New("no such order")
	ErrExpired     = errors.New("order released or expired")
	ErrPaid        = errors.New("order already paid")
	ErrForbidden   = errors.New("order belongs to another user")
	ErrNotStarted  = errors.New("sale not started")
	ErrEnded       = errors.New("sale ended")
	ErrUnavailable = errors.New("store unavailable")
	// ErrBusy: redis-lock could not take the SKU's lock within its wait bound (nothing written).
	ErrBusy = errors.New("the sku's lock is busy")
	// ErrPending: redis-mq acknowledged the order but it is not in the book of record yet.
	ErrPending = errors.New("order acknowledged, not yet persisted")
	// ErrNotSupported: the strategy cannot honour the request (for example a fault it lacks the part for).
	ErrNotSupported = errors.New("not supported by this strategy")
)

// Status of an order.
type Status uint8

const (
	Reserved Status = iota + 1
	Paid
	Released
)

func (s Status) String() string {
	switch s {
	case Reserved:
		return "reserved"
	case Paid:
		return "paid"
	case Released:
		return "released"
	}
	return "unknown"
}

// SKU is what a strategy needs to know about an item: its stock and the rules enforced
// atomically with it. Zero times mean no window bound; LimitPerUser 0 means unlimited.
type SKU struct {
	SKU          string
	Stock        int64
	LimitPerUser int64
	StartsAt     time.Time
	EndsAt       time.Time
	FirstNHalf   int64
	// Def is the target's own opaque definition of the SKU (its rules as JSON with absolute
	// times), stored by Configure atomically with the stock reset and read back through Catalog.
	Def []byte
}

// Request is one purchase attempt.
type Request struct {
	SKU       string
	User      string
	Key       string // idempotency key, "" for none
	FP        uint64 // fingerprint of the request body: same key + other FP is ErrKeyReused
	Qty       int64
	UnitPrice float64 // ladder, group and coupon already applied
	Group     string
	Coupon    string
	Now       time.Time
	TTL       time.Duration // reservation lifetime
}

// Order is one reservation and its fate.
type Order struct {
	ID        string
	Key       string
	User      string
	SKU       string
	Qty       int64
	Status    Status
	Unit      float64 // unit price before the first-N half price
	Half      int64   // units sold at half price (first-N)
	Price     float64 // total charged: Total(Unit, Qty, Half)
	Group     string
	Coupon    string
	FP        uint64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Counts are the cheap stock figures of a SKU (what metrics and views poll).
type Counts struct {
	Stock     int64
	Available int64
	Reserved  int64 // units in reserved orders
	Paid      int64
	Released  int64
	Orders    int64
	Taken     int64 // units ever handed out (the rank used by first-N)
}

// Audit is the invariant check of one SKU. Sold = Reserved + Paid; Oversold = max(0, Sold-Stock);
// Duplicates counts orders beyond one per idempotency key and units beyond the per-user limit,
// computed from the stored orders themselves.
type Audit struct {
	Counts
	Sold       int64
	Oversold   int64
	Duplicates int64
	// Undersold counts SOLD_OUT answers the strategy gave while units were left (pg-occ
	// after its retries); 0 for strategies that never do.
	Undersold int64
	// BacklogSeen is how many acknowledged orders were still in redis-mq's stream when the
	// audit began (it waits for them to reach the book of record); Backlog is how many were
	// left when it read the book (0: drained; more means the wait timed out and the
	// audit is incomplete). Both 0 for strategies without a queue.
	BacklogSeen int64
	Backlog     int64
}

// Strategy is an inventory architecture. Every method is safe for concurrent use.
type Strategy interface {
	Catalog
	Name() string
	// Configure creates or resets a SKU: stock, rules and Def, and no orders.
	Configure(ctx context.Context, s SKU) error
	// Reserve takes Qty units for User. replay is true when Key already completed: the stored
	// order is returned unchanged.
	Reserve(ctx context.Context, r Request) (o Order, replay bool, err error)
	// Confirm pays a reserved order. A released or expired one is ErrExpired.
	Confirm(ctx context.Context, id, user string, now time.Time) (Order, error)
	// Release cancels a reserved order and returns its units to the stock, exactly once.
	// user "" is the system (expiry). Releasing a released order returns it without change.
	Release(ctx context.Context, id, user string, now time.Time) (Order, error)
	// Order reads one order.
	Order(ctx context.Context, id string) (Order, error)
	// Expire releases reservations whose ExpiresAt is not after now; it returns how many.
	Expire(ctx context.Context, now time.Time) (int, error)
	Counts(ctx context.Context, sku string) (Counts, error)
	Audit(ctx context.Context, sku string) (Audit, error)
	// Orders calls fn for every order of the SKU (no particular order).
	Orders(ctx context.Context, sku string, fn func(*Order) error) error
	Close() error
}

// Config selects and configures a strategy.
type Config struct {
	Name        string
	RedisURL    string // redis-* strategies
	RedisPrefix string // key prefix, so several servers or tests can share one Redis
	PostgresURL string // pg-* strategies
	Shards      int    // sharded, redis-sharded
	// RedisWait > 0 (redis-decr, redis-lua, redis-sharded): after each purchase's writes, WAIT
	// for that many replicas to acknowledge them (on the connection that wrote them) before the
	// purchase is acknowledged; fewer within RedisWaitTimeout answer 503 STORE_UNAVAILABLE, an
	// unknown outcome. One server or Sentinel, not Cluster.
	RedisWait int

	// redis-lock: the lock's TTL (0: DefaultLockTTL), a hold inside the critical section (tests
	// of the TTL pitfall), and Pause, called inside the critical section too (the target passes
	// its stall fault, so a stalled service holds its locks past their TTL).
	LockTTL  time.Duration
	LockHold time.Duration
	Pause    func(context.Context)

	// redis-mq: consumers per replica (0: DefaultConsumers), the idle time after which a
	// pending message of another consumer is claimed (0: DefaultClaimIdle), how long pay and
	// cancel wait for an acknowledged order to be persisted before 409 PENDING (0:
	// DefaultPendingWait), and how long an audit waits for the stream to drain (0:
	// DefaultDrainWait).
	Consumers   int
	ClaimIdle   time.Duration
	PendingWait time.Duration
	DrainWait   time.Duration
}

// DefaultShards is the bucket count of the sharded strategies.
const DefaultShards = 8

// DefaultRedisPrefix prefixes every Redis key.
const DefaultRedisPrefix = "flashload"

// New builds the strategy named cfg.Name. Redis strategies connect and preload their scripts.
func New(ctx context.Context, cfg Config) (Strategy, error) {
	if cfg.Shards <= 0 {
		cfg.Shards = DefaultShards
	}
	if cfg.RedisPrefix == "" {
		cfg.RedisPrefix = DefaultRedisPrefix
	}
	name := cfg.Name
	if name == "" {
		name = "memory"
	}
	if in, ok := Lookup(name); ok {
		return in.new(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown strategy %q (want one of %s)", cfg.Name, strings.Join(Names, ", "))
}

// Total is the price of qty units at unit, half of them (the first-N ones) at 50%, in cents.
func Total(unit float64, qty, half int64) float64 {
	if half > qty {
		half = qty
	}
	if half < 0 {
		half = 0
	}
	return Round2(unit*float64(qty-half) + Round2(unit/2)*float64(half))
}

// Round2 rounds to cents.
func Round2(v float64) float64 { return math.Round(v*100) / 100 }

// halfUnits is how many of qty units starting at rank taken fall within the first n.
func halfUnits(taken, qty, n int64) int64 {
	h := n - taken
	if h <= 0 {
		return 0
	}
	if h > qty {
		return qty
	}
	return h
}

// window checks the sale window at now.
func window(s *SKU, now time.Time) error {
	if !s.StartsAt.IsZero() && now.Before(s.StartsAt) {
		return ErrNotStarted
	}
	if !s.EndsAt.IsZero() && !now.Before(s.EndsAt) {
		return ErrEnded
	}
	return nil
}

// finish fills the derived audit fields.
func finish(c Counts, dup int64) Audit {
	a := Audit{Counts: c, Sold: c.Reserved + c.Paid, Duplicates: dup}
	if a.Sold > c.Stock {
		a.Oversold = a.Sold - c.Stock
	}
	return a
}

// orderID builds "SKU.BUCKET.SEQ" (SKU names never contain a dot).
func orderID(sku string, bucket int, seq int64) string {
	b := make([]byte, 0, len(sku)+16)
	b = append(b, sku...)
	b = append(b, '.')
	b = appendInt(b, int64(bucket), 10)
	b = append(b, '.')
	b = appendInt(b, seq, 36)
	return string(b)
}

// parseID splits an order ID; ok is false for anything orderID did not produce.
func parseID(id string) (sku string, bucket int, seq int64, ok bool) {
	i := strings.IndexByte(id, '.')
	if i <= 0 {
		return "", 0, 0, false
	}
	rest := id[i+1:]
	j := strings.IndexByte(rest, '.')
	if j <= 0 || j == len(rest)-1 {
		return "", 0, 0, false
	}
	b, ok1 := parseUint(rest[:j], 10)
	s, ok2 := parseUint(rest[j+1:], 36)
	if !ok1 || !ok2 || b > 1<<16 || s == 0 {
		return "", 0, 0, false
	}
	return id[:i], int(b), s, true
}

func appendInt(b []byte, v int64, base int) []byte {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	if v == 0 {
		return append(b, '0')
	}
	var tmp [24]byte
	i := len(tmp)
	for v > 0 {
		i--
		tmp[i] = digits[v%int64(base)]
		v /= int64(base)
	}
	return append(b, tmp[i:]...)
}

func parseUint(s string, base int) (int64, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'a' && c <= 'z':
			d = int64(c-'a') + 10
		default:
			return 0, false
		}
		if d >= int64(base) {
			return 0, false
		}
		v = v*int64(base) + d
	}
	return v, true
}

// userKey scopes an idempotency key to its user.
func userKey(user, key string) string { return user + "\x00" + key }
