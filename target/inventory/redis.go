package inventory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

type redisStrategy struct {
	name string
	addr RedisAddr
	rdb  redis.UniversalClient
	// fast carries the rest of the purchase path (settle, redis-decr's commands): go-redis's
	// blocking autopipeliner over rdb, which batches the commands of concurrent requests into
	// shared pipelines (per master on Cluster), so many in-flight purchases share one round
	// trip. Each command keeps its own answer and error.
	fast   redis.UniversalClient
	prefix string
	n      int      // buckets
	cat    []string // defs gens ver seq
	wait   int      // Config.RedisWait

	// comb carries the reserve script of purchases without RedisWait (redis_combine.go):
	// batched too, at less CPU per purchase than fast.
	comb       *combiner
	args       argCache
	reserveSHA string
}

// RedisWaitTimeout bounds the WAIT of Config.RedisWait.
const RedisWaitTimeout = 250 * time.Millisecond

// purchaser is what a purchase's writes go through: the autopipeliner, or with RedisWait one
// connection of the pool, so that the WAIT after them covers them (WAIT waits for the
// replication offset of its own connection's last write); done runs that WAIT and gives the
// connection back.
func (s *redisStrategy) purchaser() (c redis.Cmdable, done func(ctx context.Context, wrote bool) error) {
	if s.wait == 0 {
		return s.fast, func(context.Context, bool) error { return nil }
	}
	conn := s.rdb.(*redis.Client).Conn()
	return conn, func(ctx context.Context, wrote bool) error {
		defer conn.Close()
		if !wrote {
			return nil
		}
		n, err := conn.Wait(ctx, s.wait, RedisWaitTimeout).Result()
		if err != nil {
			return unavailable(fmt.Errorf("WAIT %d: %w", s.wait, err))
		}
		if n < int64(s.wait) {
			return unavailable(fmt.Errorf("WAIT %d: %d replicas acknowledged within %s", s.wait, n, RedisWaitTimeout))
		}
		return nil
	}
}

func newRedis(ctx context.Context, cfg Config) (*redisStrategy, error) {
	if cfg.RedisURL == "" {
		return nil, fmt.Errorf("strategy %s needs a Redis URL", cfg.Name)
	}
	addr, err := ParseRedisURL(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	c := cfg.RedisPrefix + ":{catalog}:"
	s := &redisStrategy{name: cfg.Name, addr: addr, rdb: addr.client(), prefix: cfg.RedisPrefix, n: 1,
		cat: []string{c + "defs", c + "gens", c + "ver", c + "seq"}}
	if cfg.Name == "redis-sharded" {
		s.n = cfg.Shards
	}
	if cfg.RedisWait < 0 {
		return nil, fmt.Errorf("redis wait %d: want a number of replicas ≥ 0", cfg.RedisWait)
	}
	if cfg.RedisWait > 0 {
		if _, ok := s.rdb.(*redis.Client); !ok {
			s.rdb.Close()
			return nil, fmt.Errorf("redis wait %d needs one Redis server or a Sentinel-managed one, not %s", cfg.RedisWait, addr.Redacted())
		}
		s.wait = cfg.RedisWait
	}
	// Preloaded on every master (on Cluster too); after a restart Script.Run falls back to EVAL.
	for _, sc := range []*redis.Script{reserveScript, settleScript, expireScript, settleClaimScript,
		configureScript, putDefScript, joinScript} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			s.rdb.Close()
			return nil, fmt.Errorf("redis at %s: loading scripts: %w", addr.Redacted(), err)
		}
	}
	ap, err := s.rdb.AutoPipeline()
	if err != nil {
		s.rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", addr.Redacted(), err)
	}
	s.fast = ap
	s.comb = newCombiner(s.rdb)
	s.reserveSHA = reserveScript.Hash()
	return s, nil
}

func (s *redisStrategy) Name() string { return s.name }
func (s *redisStrategy) Close() error { return s.rdb.Close() }

// keys of bucket b of a SKU, in bucketKeys order.
func (s *redisStrategy) keys(sku string, b int) []string {
	tag := s.prefix + ":{" + sku + "}:"
	if s.name == "redis-sharded" {
		tag = s.prefix + ":{" + sku + "." + strconv.Itoa(b) + "}:"
	}
	ks := make([]string, len(bucketKeys))
	for i, k := range bucketKeys {
		ks[i] = tag + k
	}
	return ks
}

func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func (s *redisStrategy) Configure(ctx context.Context, k SKU) error {
	gen, err := s.rdb.Incr(ctx, s.cat[3]).Result()
	if err != nil {
		return unavailable(err)
	}
	for b := 0; b < s.n; b++ {
		err := configureScript.Run(ctx, s.rdb, s.keys(k.SKU, b), gen, split(k.Stock, s.n, b), k.LimitPerUser,
			ms(k.StartsAt), ms(k.EndsAt), split(k.FirstNHalf, s.n, b)).Err()
		if err != nil {
			return unavailable(err)
		}
	}
	if err := putDefScript.Run(ctx, s.rdb, s.cat[:3], k.SKU, gen, k.Def).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (s *redisStrategy) Reserve(ctx context.Context, r Request) (Order, bool, error) {
	if s.name == "redis-decr" {
		return s.reserveDecr(ctx, r)
	}
	uk := ""
	if r.Key != "" {
		uk = userKey(r.User, r.Key)
	}
	home := 0
	mode := "buy"
	if s.n > 1 {
		home = int(hash32(r.User) % uint32(s.n))
		mode = "claim"
	}
	res, err := s.runReserve(ctx, r, mode, uk, home, home)
	if err != nil {
		return Order{}, false, err
	}
	switch res[0] {
	case "PROBE":
	case "RESERVED":
		o, _ := decode(res[1], r.SKU, res[2], "r")
		return o, false, nil
	case "REPLAY":
		return s.replay(ctx, r, res[1], res[2])
	default:
		return Order{}, false, codeErr(res[0])
	}
	// The home bucket is dry: the user's units and key are claimed there; probe the others.
	hk := s.keys(r.SKU, home)
	for j := 1; j < s.n; j++ {
		b := (home + j) % s.n
		res, err := s.runReserve(ctx, r, "steal", uk, b, home)
		if err != nil {
			// Unknown whether the steal ran: keep the claim (the key stays in flight) rather
			// than guess; the units claimed are never stock, so nothing is oversold.
			return Order{}, false, err
		}
		if res[0] == "RESERVED" {
			if err := settleClaimScript.Run(ctx, s.fast, []string{hk[2], hk[3]}, r.User, uk, r.Qty, res[1]).Err(); err != nil {
				return Order{}, false, unavailable(err)
			}
			o, _ := decode(res[1], r.SKU, res[2], "r")
			return o, false, nil
		}
	}
	if err := settleClaimScript.Run(ctx, s.fast, []string{hk[2], hk[3]}, r.User, uk, r.Qty, "").Err(); err != nil {
		return Order{}, false, unavailable(err)
	}
	return Order{}, false, ErrSoldOut
}

func (s *redisStrategy) runReserve(ctx context.Context, r Request, mode, uk string, b, home int) ([]string, error) {
	a := s.args.get(s, r.SKU, b)
	var v []string
	var err error
	if s.wait == 0 {
		v, err = s.reserveCombined(ctx, r, a, mode, uk, home)
	} else {
		c, done := s.purchaser()
		v, err = reserveScript.Run(ctx, c, s.keys(r.SKU, b), appendReserveArgv(nil, r, a, mode, uk, home)...).StringSlice()
		if werr := done(ctx, err == nil && len(v) > 0 && (v[0] == "RESERVED" || v[0] == "PROBE")); err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if len(v) == 0 {
		return nil, unavailable(errors.New("empty script answer"))
	}
	return v, nil
}

// replay answers a completed key with its stored order (which may live in another bucket).
func (s *redisStrategy) replay(ctx context.Context, r Request, id, d string) (Order, bool, error) {
	o, err := s.Order(ctx, id)
	if err != nil {
		return Order{}, false, err
	}
	if o.FP != r.FP {
		return Order{}, false, ErrKeyReused
	}
	return o, true, nil
}

// meta reads a bucket's rules (ErrUnknownSKU when the SKU is not configured).
func (s *redisStrategy) meta(ctx context.Context, key string) (SKU, error) {
	v, err := s.fast.HMGet(ctx, key, "stock", "limit", "starts", "ends", "firstn").Result()
	if err != nil {
		return SKU{}, unavailable(err)
	}
	if v[0] == nil {
		return SKU{}, ErrUnknownSKU
	}
	var k SKU
	k.Stock, k.LimitPerUser, k.FirstNHalf = num(v[0]), num(v[1]), num(v[4])
	if t := num(v[2]); t > 0 {
		k.StartsAt = time.UnixMilli(t)
	}
	if t := num(v[3]); t > 0 {
		k.EndsAt = time.UnixMilli(t)
	}
	return k, nil
}

// num reads an HMGET field as an integer (0 when absent).
func num(v any) int64 {
	s, _ := v.(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// reserveDecr is the seed's DECRBY pattern (the rules read first, one more round trip); the key and the per-user count are taken first
// (HSETNX, HINCRBY) and given back when the stock says no.
func (s *redisStrategy) reserveDecr(ctx context.Context, r Request) (Order, bool, error) {
	ks := s.keys(r.SKU, 0)
	k, err := s.meta(ctx, ks[0])
	if err != nil {
		return Order{}, false, err
	}
	if err := window(&k, r.Now); err != nil {
		return Order{}, false, err
	}
	fp := strconv.FormatUint(r.FP, 10)
	uk := ""
	if r.Key != "" {
		uk = userKey(r.User, r.Key)
		set, err := s.fast.HSetNX(ctx, ks[3], uk, "P:"+fp).Result()
		if err != nil {
			return Order{}, false, unavailable(err)
		}
		if !set {
			v, err := s.fast.HGet(ctx, ks[3], uk).Result()
			if err != nil {
				return Order{}, false, unavailable(err)
			}
			if strings.HasPrefix(v, "P:") {
				if v[2:] == fp {
					return Order{}, false, ErrInFlight
				}
				return Order{}, false, ErrKeyReused
			}
			return s.replay(ctx, r, v, "")
		}
	}
	undoKey := func() {
		if uk != "" {
			s.fast.HDel(ctx, ks[3], uk)
		}
	}
	held, err := s.fast.HIncrBy(ctx, ks[2], r.User, r.Qty).Result()
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	if k.LimitPerUser > 0 && held > k.LimitPerUser {
		s.fast.HIncrBy(ctx, ks[2], r.User, -r.Qty)
		undoKey()
		return Order{}, false, ErrLimit
	}
	left, err := s.fast.DecrBy(ctx, ks[1], r.Qty).Result()
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	if left < 0 {
		s.fast.IncrBy(ctx, ks[1], r.Qty)
		s.fast.HIncrBy(ctx, ks[2], r.User, -r.Qty)
		undoKey()
		return Order{}, false, ErrSoldOut
	}
	taken, err := s.fast.HIncrBy(ctx, ks[7], "taken", r.Qty).Result()
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	half := halfUnits(taken-r.Qty, r.Qty, k.FirstNHalf)
	seq, err := s.fast.HIncrBy(ctx, ks[7], "seq", 1).Result()
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	id := r.SKU + ".0." + strconv.FormatInt(seq, 10)
	rec := recordOf(r, half, 0)
	exp, d := rec.Expires, rec.encode()
	c, done := s.purchaser()
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, ks[4], id, d)
		p.HSet(ctx, ks[5], id, "r")
		p.ZAdd(ctx, ks[6], redis.Z{Score: float64(exp), Member: id})
		p.HIncrBy(ctx, ks[7], "reserved", r.Qty)
		p.HIncrBy(ctx, ks[7], "orders", 1)
		if uk != "" {
			p.HSet(ctx, ks[3], uk, id)
		}
		return nil
	})
	if werr := done(ctx, err == nil); err == nil {
		err = werr
	}
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	return rec.order(id, r.SKU, Reserved), false, nil
}

func (s *redisStrategy) settle(ctx context.Context, id, user string, now time.Time, op string) (Order, error) {
	sku, b, _, ok := parseID(id)
	if !ok || b >= s.n {
		return Order{}, ErrNoOrder
	}
	v, err := settleScript.Run(ctx, s.fast, s.keys(sku, b), id, user, now.UnixMilli(), op, b).StringSlice()
	if err != nil {
		return Order{}, unavailable(err)
	}
	if len(v) < 3 {
		return Order{}, codeErr(v[0])
	}
	o, _ := decode(id, sku, v[1], "")
	switch v[0] {
	case "PAID":
		o.Status = Paid
	case "RELEASED", "RELEASED_NOW", "EXPIRED", "EXPIRED_NOW":
		o.Status = Released
	}
	if v[2] == "1" {
		hk := s.keys(sku, homeOf(v[1]))
		if err := s.fast.HIncrBy(ctx, hk[2], o.User, -o.Qty).Err(); err != nil {
			return o, unavailable(err)
		}
	}
	switch v[0] {
	case "PAID", "RELEASED", "RELEASED_NOW":
		return o, nil
	}
	return o, codeErr(v[0])
}

func (s *redisStrategy) Confirm(ctx context.Context, id, user string, now time.Time) (Order, error) {
	return s.settle(ctx, id, user, now, "pay")
}

func (s *redisStrategy) Release(ctx context.Context, id, user string, now time.Time) (Order, error) {
	op := "cancel"
	if user == "" {
		op = "expire"
	}
	return s.settle(ctx, id, user, now, op)
}

func (s *redisStrategy) Order(ctx context.Context, id string) (Order, error) {
	sku, b, _, ok := parseID(id)
	if !ok || b >= s.n {
		return Order{}, ErrNoOrder
	}
	ks := s.keys(sku, b)
	p := s.rdb.Pipeline()
	dc := p.HGet(ctx, ks[4], id)
	sc := p.HGet(ctx, ks[5], id)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Order{}, unavailable(err)
	}
	d, err := dc.Result()
	if errors.Is(err, redis.Nil) {
		return Order{}, ErrNoOrder
	}
	o, ok := decode(id, sku, d, sc.Val())
	if !ok {
		return Order{}, ErrNoOrder
	}
	return o, nil
}

func (s *redisStrategy) Expire(ctx context.Context, now time.Time) (int, error) {
	const batch = 256
	n := 0
	names, err := s.rdb.HKeys(ctx, s.cat[0]).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	for _, sku := range names {
		for b := 0; b < s.n; b++ {
			for {
				v, err := expireScript.Run(ctx, s.rdb, s.keys(sku, b), now.UnixMilli(), b, batch).Slice()
				if err != nil {
					return n, unavailable(err)
				}
				released, _ := v[0].(int64)
				n += int(released)
				// Cross-bucket users: home, user, qty triples.
				for i := 1; i+2 < len(v)-1; i += 3 {
					home, _ := strconv.Atoi(fmt.Sprint(v[i]))
					qty, _ := strconv.ParseInt(fmt.Sprint(v[i+2]), 10, 64)
					hk := s.keys(sku, home)
					if err := s.rdb.HIncrBy(ctx, hk[2], fmt.Sprint(v[i+1]), -qty).Err(); err != nil {
						return n, unavailable(err)
					}
				}
				seen, _ := v[len(v)-1].(int64)
				if seen < batch {
					break
				}
			}
		}
	}
	return n, nil
}

func (s *redisStrategy) Counts(ctx context.Context, sku string) (Counts, error) {
	p := s.rdb.Pipeline()
	metas := make([]*redis.StringCmd, s.n)
	avails := make([]*redis.StringCmd, s.n)
	cs := make([]*redis.SliceCmd, s.n)
	for b := 0; b < s.n; b++ {
		ks := s.keys(sku, b)
		metas[b] = p.HGet(ctx, ks[0], "stock")
		avails[b] = p.Get(ctx, ks[1])
		cs[b] = p.HMGet(ctx, ks[7], "taken", "reserved", "paid", "released", "orders")
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Counts{}, unavailable(err)
	}
	var c Counts
	known := false
	for b := 0; b < s.n; b++ {
		st, err := metas[b].Int64()
		known = known || err == nil
		av, _ := avails[b].Int64()
		c.Stock += st
		c.Available += av
		v := cs[b].Val()
		if len(v) == 5 {
			c.Taken += num(v[0])
			c.Reserved += num(v[1])
			c.Paid += num(v[2])
			c.Released += num(v[3])
			c.Orders += num(v[4])
		}
	}
	if !known {
		return Counts{}, ErrUnknownSKU
	}
	return c, nil
}

func (s *redisStrategy) Audit(ctx context.Context, sku string) (Audit, error) {
	c, err := s.Counts(ctx, sku)
	if err != nil {
		return Audit{}, err
	}
	k, err := s.meta(ctx, s.keys(sku, 0)[0])
	if err != nil {
		return Audit{}, err
	}
	keys := map[string]int{}
	held := map[string]int64{}
	var dup int64
	err = s.Orders(ctx, sku, func(o *Order) error {
		if o.Key != "" {
			uk := userKey(o.User, o.Key)
			keys[uk]++
			if keys[uk] > 1 {
				dup++
			}
		}
		if o.Status != Released {
			held[o.User] += o.Qty
		}
		return nil
	})
	if err != nil {
		return Audit{}, err
	}
	if k.LimitPerUser > 0 {
		for _, h := range held {
			if h > k.LimitPerUser {
				dup += h - k.LimitPerUser
			}
		}
	}
	return finish(c, dup), nil
}

func (s *redisStrategy) Orders(ctx context.Context, sku string, fn func(*Order) error) error {
	if _, err := s.meta(ctx, s.keys(sku, 0)[0]); err != nil {
		return err
	}
	for b := 0; b < s.n; b++ {
		ks := s.keys(sku, b)
		var cursor uint64
		seen := map[string]struct{}{} // HSCAN may return an element twice
		for {
			kv, next, err := s.rdb.HScan(ctx, ks[4], cursor, "*", 1000).Result()
			if err != nil {
				return unavailable(err)
			}
			if len(kv) > 0 {
				ids := make([]string, 0, len(kv)/2)
				for i := 0; i+1 < len(kv); i += 2 {
					ids = append(ids, kv[i])
				}
				st, err := s.rdb.HMGet(ctx, ks[5], ids...).Result()
				if err != nil {
					return unavailable(err)
				}
				for i := 0; i+1 < len(kv); i += 2 {
					if _, dup := seen[kv[i]]; dup {
						continue
					}
					seen[kv[i]] = struct{}{}
					status, _ := st[i/2].(string)
					o, ok := decode(kv[i], sku, kv[i+1], status)
					if !ok {
						continue
					}
					if err := fn(&o); err != nil {
						return err
					}
				}
			}
			cursor = next
			if cursor == 0 {
				break
			}
		}
	}
	return nil
}

// Catalog, in Redis (layout at the top of this file).

func (s *redisStrategy) SKUDef(ctx context.Context, sku string) ([]byte, error) {
	d, err := s.rdb.HGet(ctx, s.cat[0], sku).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrUnknownSKU
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return d, nil
}

func (s *redisStrategy) SKUDefs(ctx context.Context) (map[string][]byte, error) {
	m, err := s.rdb.HGetAll(ctx, s.cat[0]).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out, nil
}

func (s *redisStrategy) CatalogVersion(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, s.cat[2]).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return v, nil
}

// skuTag is the hash-tagged key prefix of a SKU's catalog entries (groups, coupons).
func (s *redisStrategy) skuTag(sku string) string { return s.prefix + ":{" + sku + "}:" }

func (s *redisStrategy) CreateGroup(ctx context.Context, sku string) (string, error) {
	tag := s.skuTag(sku)
	seq, err := s.rdb.Incr(ctx, tag+"gseq").Result()
	if err != nil {
		return "", unavailable(err)
	}
	id := sku + ".g" + strconv.FormatInt(seq, 36)
	if err := s.rdb.HSet(ctx, tag+"g:"+strconv.FormatInt(seq, 36), "m", "").Err(); err != nil {
		return "", unavailable(err)
	}
	return id, nil
}

// groupKey maps a group id "SKU.gSEQ" to its keys; ok is false for anything else.
func (s *redisStrategy) groupKey(id string) (sku, key string, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 || i+2 >= len(id) || id[i+1] != 'g' {
		return "", "", false
	}
	sku, seq := id[:i], id[i+2:]
	if _, ok := parseUint(seq, 36); !ok {
		return "", "", false
	}
	for _, c := range []byte(sku) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", "", false
		}
	}
	return sku, s.skuTag(sku) + "g:" + seq, true
}

func (s *redisStrategy) JoinGroup(ctx context.Context, id, user string, max, couponAt int) (int, error) {
	sku, key, ok := s.groupKey(id)
	if !ok {
		return 0, ErrNoGroup
	}
	n, err := joinScript.Run(ctx, s.rdb, []string{key, s.skuTag(sku) + "coupons"}, user, max, couponAt).Int()
	switch {
	case err != nil:
		return 0, unavailable(err)
	case n == -1:
		return 0, ErrNoGroup
	case n == -2:
		return max, ErrGroupFull
	}
	return n, nil
}

func (s *redisStrategy) Group(ctx context.Context, id string) (string, []string, error) {
	sku, key, ok := s.groupKey(id)
	if !ok {
		return "", nil, ErrNoGroup
	}
	v, err := s.rdb.HGet(ctx, key, "m").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, ErrNoGroup
	}
	if err != nil {
		return "", nil, unavailable(err)
	}
	var members []string
	if v != "" {
		members = strings.Split(v, "\t")
	}
	return sku, members, nil
}

func (s *redisStrategy) HasCoupon(ctx context.Context, sku, user string) (bool, error) {
	ok, err := s.rdb.SIsMember(ctx, s.skuTag(sku)+"coupons", user).Result()
	if err != nil {
		return false, unavailable(err)
	}
	return ok, nil
}
