package inventory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// redis-lock is the classic "Redis distributed lock" of flash-sale designs: a purchase takes the SKU's lock
// (SET PREFIX:{SKU}:lock TOKEN NX PX TTL), reads the stock, the user's units and the
// idempotency key, checks them in the service, writes the order, and releases the lock with a
// compare-and-delete script (only the holder's own token is deleted). Its keys are redis-lua's
// (redis.go's layout), so pay, cancel, expiry, the catalogue and the audit are redis.go's.
//
// The pitfall is kept: nothing fences the writes. A holder that stalls past the TTL (a GC
// pause, a stall fault, --lock-hold in tests) no longer holds the lock when it writes; a second
// holder has read the same stock meanwhile, both decrement, and the audit shows the oversell
// (available goes negative, sold > stock). The writes are relative (DECRBY, HINCRBY), so
// releases, which run without the lock, never lose units while the lock holds.

// DefaultLockTTL is redis-lock's lock lifetime: well above the critical section's few round
// trips, short enough that a crashed holder blocks the SKU briefly.
const DefaultLockTTL = time.Second

// lockWait bounds the wait for a SKU's lock; past it the purchase is refused (ErrBusy, 503
// SHED) with nothing written.
const lockWait = 5 * time.Second

// lockBackoffMax caps the jittered sleep between attempts to take a busy lock.
const lockBackoffMax = 8 * time.Millisecond

// unlockScript deletes the lock only when it still holds the caller's token.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

type lockStrategy struct {
	*redisStrategy
	ttl   time.Duration
	hold  time.Duration
	pause func(context.Context)
}

func newRedisLock(ctx context.Context, cfg Config) (*lockStrategy, error) {
	r, err := newRedis(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := unlockScript.Load(ctx, r.rdb).Err(); err != nil {
		r.Close()
		return nil, fmt.Errorf("redis at %s: loading scripts: %w", r.addr.Redacted(), err)
	}
	s := &lockStrategy{redisStrategy: r, ttl: cfg.LockTTL, hold: cfg.LockHold, pause: cfg.Pause}
	if s.ttl <= 0 {
		s.ttl = DefaultLockTTL
	}
	return s, nil
}

func (s *lockStrategy) lockKey(sku string) string { return s.skuTag(sku) + "lock" }

// acquire takes the lock, retrying with jittered backoff until lockWait.
func (s *lockStrategy) acquire(ctx context.Context, key string) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	deadline := time.Now().Add(lockWait)
	backoff := 250 * time.Microsecond
	for {
		ok, err := s.rdb.SetArgs(ctx, key, token, redis.SetArgs{Mode: "NX", TTL: s.ttl}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", unavailable(err)
		}
		if ok == "OK" {
			return token, nil
		}
		if time.Now().After(deadline) {
			return "", ErrBusy
		}
		if err := sleep(ctx, mrand.N(backoff)+50*time.Microsecond); err != nil {
			return "", unavailable(err)
		}
		backoff = min(backoff*2, lockBackoffMax)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Reserve is read, check and write under the SKU's lock.
func (s *lockStrategy) Reserve(ctx context.Context, r Request) (Order, bool, error) {
	ks := s.keys(r.SKU, 0)
	// A sold-out SKU answers without the lock (the common pre-check).
	if v, err := s.rdb.Get(ctx, ks[1]).Int64(); err == nil && v < r.Qty {
		return Order{}, false, ErrSoldOut
	}
	lock := s.lockKey(r.SKU)
	token, err := s.acquire(ctx, lock)
	if err != nil {
		return Order{}, false, err
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = unlockScript.Run(uctx, s.rdb, []string{lock}, token).Err() // a lost lock is not ours to delete
	}()
	return s.critical(ctx, &r, ks)
}

// critical is the section the lock is meant to protect.
func (s *lockStrategy) critical(ctx context.Context, r *Request, ks []string) (Order, bool, error) {
	uk := ""
	if r.Key != "" {
		uk = userKey(r.User, r.Key)
	}
	p := s.rdb.Pipeline()
	meta := p.HMGet(ctx, ks[0], "stock", "limit", "starts", "ends", "firstn")
	availC := p.Get(ctx, ks[1])
	heldC := p.HGet(ctx, ks[2], r.User)
	keyC := p.HGet(ctx, ks[3], uk)
	takenC := p.HGet(ctx, ks[7], "taken")
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Order{}, false, unavailable(err)
	}
	m := meta.Val()
	if len(m) != 5 || m[0] == nil {
		return Order{}, false, ErrUnknownSKU
	}
	k := SKU{LimitPerUser: num(m[1]), FirstNHalf: num(m[4])}
	if t := num(m[2]); t > 0 {
		k.StartsAt = time.UnixMilli(t)
	}
	if t := num(m[3]); t > 0 {
		k.EndsAt = time.UnixMilli(t)
	}
	if err := window(&k, r.Now); err != nil {
		return Order{}, false, err
	}
	if uk != "" {
		if id, err := keyC.Result(); err == nil {
			return s.replay(ctx, *r, id, "")
		}
	}
	held, _ := heldC.Int64()
	if k.LimitPerUser > 0 && held+r.Qty > k.LimitPerUser {
		return Order{}, false, ErrLimit
	}
	avail, _ := availC.Int64()
	if avail < r.Qty {
		return Order{}, false, ErrSoldOut
	}
	taken, _ := takenC.Int64()
	// Where a holder stalls: past the TTL, another holder reads what this one read.
	if s.hold > 0 {
		if err := sleep(ctx, s.hold); err != nil {
			return Order{}, false, unavailable(err)
		}
	}
	if s.pause != nil {
		s.pause(ctx)
	}
	seq, err := s.rdb.HIncrBy(ctx, ks[7], "seq", 1).Result()
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	half := halfUnits(taken, r.Qty, k.FirstNHalf)
	id := orderID(r.SKU, 0, seq)
	rec := recordOf(*r, half, 0)
	exp, d := rec.Expires, rec.encode()
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.DecrBy(ctx, ks[1], r.Qty)
		p.HIncrBy(ctx, ks[2], r.User, r.Qty)
		p.HSet(ctx, ks[4], id, d)
		p.HSet(ctx, ks[5], id, "r")
		p.ZAdd(ctx, ks[6], redis.Z{Score: float64(exp), Member: id})
		p.HIncrBy(ctx, ks[7], "taken", r.Qty)
		p.HIncrBy(ctx, ks[7], "reserved", r.Qty)
		p.HIncrBy(ctx, ks[7], "orders", 1)
		if uk != "" {
			p.HSet(ctx, ks[3], uk, id)
		}
		return nil
	})
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	return rec.order(id, r.SKU, Reserved), false, nil
}

var _ Strategy = (*lockStrategy)(nil)
