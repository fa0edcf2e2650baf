package inventory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// redis-mq is the "distributed lock + transactional message" design of flash sales. A purchase is one Lua
// script in Redis: window, idempotency key, per-user limit, stock, the decrement, and the
// order message XADDed to the SKU's stream, atomically; the purchase is acknowledged when
// the script returns. Consumers (a consumer group, Consumers per replica) persist the orders
// to PostgreSQL, the book of record, idempotently (the order id is the primary key), XACK and
// XDEL each message after the commit, and take over the pending messages of dead consumers
// (XAUTOCLAIM after ClaimIdle). So the stream holds exactly the acknowledged orders not yet
// persisted: its length is the backlog.
//
// Where state lives:
//   - Redis (redis.go's layout and catalogue): the SKU defs, groups and coupons, and the gate:
//     meta (rules and gen), avail, users (units held per user), keys (idempotency key -> seq
//     TAB order), c (taken, seq); plus PREFIX:{SKU}:mq, the stream, and PREFIX:{SKU}:ret, the
//     ids of released orders whose units went back to avail.
//   - PostgreSQL (schema.sql): the orders, their status and expiry, the stock counters of the
//     book (fl_skus), and fl_mq_returns, the outbox of released units not yet given back.
//
// Order ids are SKU.0.N with N = gen<<32 | seq: gen is the SKU's Configure generation (the
// catalogue's, so unique across SKUs), seq the script's counter. A message of an older
// generation is dropped by the consumer (fl_mq_persist), so a reset during load starts clean.
//
// Pay and cancel go to PostgreSQL once the order is there; before, they wait up to
// PendingWait and answer ErrPending (409 PENDING). A release (cancel, expiry, a late pay)
// writes its outbox row in the same transaction (a trigger); the units then go back to the
// Redis gate by an idempotent script, retried by every expiry sweep until it lands.
// The audit and the order listing wait (up to DrainWait) for the SKU's stream to drain, then
// read PostgreSQL, and report the backlog they saw.

// Defaults of redis-mq's Config fields.
const (
	DefaultConsumers   = 3
	DefaultClaimIdle   = 5 * time.Second
	DefaultPendingWait = time.Second
	DefaultDrainWait   = 10 * time.Second
)

// mqGroup is the consumer group of every SKU stream.
const mqGroup = "persist"

// mqBatch is how many messages a consumer reads, and persists in one transaction, at a time.
const mqBatch = 128

// mqReserveScript is redis-mq's purchase.
// KEYS: meta avail users keys c mq. ARGV: user qty ukey fp now_ms expires_ms unit group coupon key
// Answers {code} or {RESERVED, gen, seq, order} or {REPLAY, gen, seq TAB order}.
var mqReserveScript = redis.NewScript(luaFirstNHalf + luaSaleRules + luaOrderRecord + `
local m = redis.call('HMGET', KEYS[1], 'limit', 'starts', 'ends', 'firstn', 'gen')
if not m[5] then return {'UNKNOWN_SKU'} end
local qty = tonumber(ARGV[2])
local closed = closedSale(tonumber(ARGV[5]), tonumber(m[2]), tonumber(m[3]))
if closed then return {closed} end
if ARGV[3] ~= '' then
  local v = redis.call('HGET', KEYS[4], ARGV[3])
  if v then return {'REPLAY', m[5], v} end
end
if overLimit(KEYS[3], ARGV[1], qty, tonumber(m[1])) then return {'LIMIT'} end
local avail = tonumber(redis.call('GET', KEYS[2]) or '0')
if avail < qty then return {'SOLD_OUT'} end
redis.call('DECRBY', KEYS[2], qty)
local taken = redis.call('HINCRBY', KEYS[5], 'taken', qty) - qty
local half = firstNHalf(tonumber(m[4]), taken, qty)
local seq = redis.call('HINCRBY', KEYS[5], 'seq', 1)
local d = orderRecord(ARGV[10], ARGV[1], ARGV[2], ARGV[7], half, ARGV[8], ARGV[9], ARGV[5], ARGV[6], ARGV[4], '0')
redis.call('XADD', KEYS[6], '*', 'g', m[5], 's', seq, 'o', d)
redis.call('HINCRBY', KEYS[3], ARGV[1], qty)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], ARGV[3], seq .. '\t' .. d) end
return {'RESERVED', m[5], tostring(seq), d}
`)

// mqConfigureScript resets a SKU's gate and stream unless a newer generation already did.
// KEYS: bucketKeys mq ret. ARGV: gen stock limit starts ends firstn
var mqConfigureScript = redis.NewScript(`
local g = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if g > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', unpack(KEYS))
redis.call('HSET', KEYS[1], 'stock', ARGV[2], 'limit', ARGV[3], 'starts', ARGV[4], 'ends', ARGV[5], 'firstn', ARGV[6], 'gen', ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('XGROUP', 'CREATE', KEYS[9], '` + mqGroup + `', '$', 'MKSTREAM')
return 1
`)

// mqGiveBackScript returns a released order's units to the gate, once per order id.
// KEYS: meta avail users ret. ARGV: gen id user qty
var mqGiveBackScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
if redis.call('SADD', KEYS[4], ARGV[2]) == 0 then return 0 end
redis.call('INCRBY', KEYS[2], ARGV[4])
redis.call('HINCRBY', KEYS[3], ARGV[3], -tonumber(ARGV[4]))
return 1
`)

// Consumers is implemented by strategies that persist through background consumers
// (redis-mq). KillConsumers stops this replica's consumers at once, as a crash would (a batch
// may be committed and not acknowledged); StartConsumers starts new ones under new names.
type Consumers interface {
	KillConsumers()
	StartConsumers()
}

type mqStrategy struct {
	Catalog // Redis's (redis.go)
	r       *redisStrategy
	p       *pgStrategy

	consumers   int
	claimIdle   time.Duration
	pendingWait time.Duration
	drainWait   time.Duration
	replica     string

	mu      sync.Mutex
	run     *consumerRun
	started int  // consumer generations started, for names
	closed  bool // no consumers start after Close

	listMu  sync.Mutex
	list    []string // SKU names, refreshed when the catalogue's version changes
	listVer int64
	listAt  time.Time
}

type consumerRun struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRedisMQ(ctx context.Context, cfg Config) (*mqStrategy, error) {
	r, err := newRedis(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, sc := range []*redis.Script{mqReserveScript, mqConfigureScript, mqGiveBackScript} {
		if err := sc.Load(ctx, r.rdb).Err(); err != nil {
			r.Close()
			return nil, fmt.Errorf("redis at %s: loading scripts: %w", r.addr.Redacted(), err)
		}
	}
	p, err := newPostgres(ctx, cfg)
	if err != nil {
		r.Close()
		return nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &mqStrategy{Catalog: r, r: r, p: p, consumers: cfg.Consumers, claimIdle: cfg.ClaimIdle,
		pendingWait: cfg.PendingWait, drainWait: cfg.DrainWait, replica: hex.EncodeToString(b[:]), listVer: -1}
	if s.consumers <= 0 {
		s.consumers = DefaultConsumers
	}
	if s.claimIdle <= 0 {
		s.claimIdle = DefaultClaimIdle
	}
	if s.pendingWait <= 0 {
		s.pendingWait = DefaultPendingWait
	}
	if s.drainWait <= 0 {
		s.drainWait = DefaultDrainWait
	}
	s.StartConsumers()
	return s, nil
}

func (s *mqStrategy) Name() string { return "redis-mq" }

func (s *mqStrategy) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.KillConsumers()
	s.p.Close()
	return s.r.Close()
}

// mqKeys are bucketKeys, then the stream and the set of given-back order ids.
func (s *mqStrategy) mqKeys(sku string) []string {
	tag := s.r.skuTag(sku)
	return append(s.r.keys(sku, 0), tag+"mq", tag+"ret")
}

// mqID builds an order id from its generation and sequence number, and mqSplit reads it back.
func mqID(sku string, gen, seq int64) string { return pgOrderID(sku, gen<<32|seq) }

func mqSplit(id string) (sku string, n, gen, seq int64, ok bool) {
	sku, n, ok = pgSeq(id)
	return sku, n, n >> 32, n & (1<<32 - 1), ok && n>>32 > 0
}

func (s *mqStrategy) Configure(ctx context.Context, k SKU) error {
	gen, err := s.r.rdb.Incr(ctx, s.r.cat[3]).Result()
	if err != nil {
		return unavailable(err)
	}
	if gen >= 1<<30 {
		return unavailable(errors.New("redis-mq: catalogue generations exhausted (2^30)"))
	}
	def := k.Def
	if def == nil {
		def = []byte{}
	}
	// The book first: messages of the old generation still in flight are dropped from now on.
	if _, err := s.p.db.Exec(ctx, "SELECT fl_mq_configure($1, $2, $3, $4, $5, $6, $7, $8)", gen, k.SKU, def,
		k.Stock, k.LimitPerUser, nullTime(k.StartsAt), nullTime(k.EndsAt), k.FirstNHalf); err != nil {
		return unavailable(err)
	}
	if err := mqConfigureScript.Run(ctx, s.r.rdb, s.mqKeys(k.SKU), gen, k.Stock, k.LimitPerUser,
		ms(k.StartsAt), ms(k.EndsAt), k.FirstNHalf).Err(); err != nil {
		return unavailable(err)
	}
	if err := putDefScript.Run(ctx, s.r.rdb, s.r.cat[:3], k.SKU, gen, def).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// decodeMQ reads a message's order: the order record (order_record.go), of a generation and a
// sequence number.
func decodeMQ(sku string, gen, seq int64, d string) (Order, bool) {
	rec, ok := decodeRecord(d)
	if !ok {
		return Order{}, false
	}
	return rec.order(mqID(sku, gen, seq), sku, Reserved), rec.Qty > 0
}

func (s *mqStrategy) Reserve(ctx context.Context, r Request) (Order, bool, error) {
	uk := ""
	if r.Key != "" {
		uk = userKey(r.User, r.Key)
	}
	ks := s.mqKeys(r.SKU)
	v, err := mqReserveScript.Run(ctx, s.r.rdb, []string{ks[0], ks[1], ks[2], ks[3], ks[7], ks[8]},
		r.User, r.Qty, uk, strconv.FormatUint(r.FP, 10), r.Now.UnixMilli(), r.Now.Add(r.TTL).UnixMilli(),
		strconv.FormatFloat(r.UnitPrice, 'f', -1, 64), r.Group, r.Coupon, r.Key).StringSlice()
	if err != nil {
		return Order{}, false, unavailable(err)
	}
	switch {
	case len(v) == 4 && v[0] == "RESERVED":
		gen, _ := strconv.ParseInt(v[1], 10, 64)
		seq, _ := strconv.ParseInt(v[2], 10, 64)
		o, _ := decodeMQ(r.SKU, gen, seq, v[3])
		return o, false, nil
	case len(v) == 3 && v[0] == "REPLAY":
		gen, _ := strconv.ParseInt(v[1], 10, 64)
		seqS, d, _ := strings.Cut(v[2], "\t")
		seq, _ := strconv.ParseInt(seqS, 10, 64)
		o, ok := decodeMQ(r.SKU, gen, seq, d)
		if !ok {
			return Order{}, false, unavailable(errors.New("redis-mq: malformed idempotency record"))
		}
		if o.FP != r.FP {
			return Order{}, false, ErrKeyReused
		}
		// The book's status when the order is there (the key's record is the order as bought).
		if stored, err := s.p.Order(ctx, o.ID); err == nil {
			o = stored
		}
		return o, true, nil
	case len(v) >= 1:
		return Order{}, false, codeErr(v[0])
	}
	return Order{}, false, unavailable(errors.New("redis-mq: empty script answer"))
}

// issued reports whether id was handed out by the current generation of its SKU (and so is
// in the stream when it is not in the book yet).
func (s *mqStrategy) issued(ctx context.Context, id string) (bool, error) {
	sku, _, gen, seq, ok := mqSplit(id)
	if !ok {
		return false, nil
	}
	ks := s.r.keys(sku, 0)
	p := s.r.rdb.Pipeline()
	g := p.HGet(ctx, ks[0], "gen")
	c := p.HGet(ctx, ks[7], "seq")
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, unavailable(err)
	}
	cur, _ := g.Int64()
	last, _ := c.Int64()
	return gen == cur && seq >= 1 && seq <= last, nil
}

// inBook runs op on the book, waiting up to pendingWait while the order is acknowledged but
// still in the stream.
func (s *mqStrategy) inBook(ctx context.Context, id string, op func() (Order, error)) (Order, error) {
	deadline := time.Now().Add(s.pendingWait)
	wait := time.Millisecond
	for {
		o, err := op()
		if !errors.Is(err, ErrNoOrder) {
			return o, err
		}
		pending, perr := s.issued(ctx, id)
		switch {
		case perr != nil:
			return Order{}, perr
		case !pending:
			return Order{}, ErrNoOrder
		case time.Now().After(deadline):
			return Order{}, ErrPending
		}
		if err := sleep(ctx, wait); err != nil {
			return Order{}, unavailable(err)
		}
		wait = min(wait*2, 20*time.Millisecond)
	}
}

func (s *mqStrategy) Confirm(ctx context.Context, id, user string, now time.Time) (Order, error) {
	o, err := s.inBook(ctx, id, func() (Order, error) { return s.p.Confirm(ctx, id, user, now) })
	if errors.Is(err, ErrExpired) && o.SKU != "" {
		s.giveBack(ctx, o.SKU)
	}
	return o, err
}

func (s *mqStrategy) Release(ctx context.Context, id, user string, now time.Time) (Order, error) {
	o, err := s.inBook(ctx, id, func() (Order, error) { return s.p.Release(ctx, id, user, now) })
	if err == nil && o.Status == Released {
		s.giveBack(ctx, o.SKU)
	}
	return o, err
}

func (s *mqStrategy) Order(ctx context.Context, id string) (Order, error) {
	return s.inBook(ctx, id, func() (Order, error) { return s.p.Order(ctx, id) })
}

// giveBack applies the outbox of released units to the Redis gate (sku "" for every SKU). A
// failure leaves the rows for the next sweep; the script is idempotent per order.
func (s *mqStrategy) giveBack(ctx context.Context, sku string) (int, error) {
	n := 0
	for {
		var batch int
		err := pgx.BeginFunc(ctx, s.p.db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, sku, user_id, qty FROM fl_mq_returns WHERE $1 = '' OR sku = $1
				LIMIT 256 FOR UPDATE SKIP LOCKED`, sku)
			if err != nil {
				return err
			}
			var ids []int64
			var id, qty int64
			var rsku, user string
			_, err = pgx.ForEachRow(rows, []any{&id, &rsku, &user, &qty}, func() error {
				ks := s.mqKeys(rsku)
				if err := mqGiveBackScript.Run(ctx, s.r.rdb, []string{ks[0], ks[1], ks[2], ks[9]},
					id>>32, pgOrderID(rsku, id), user, qty).Err(); err != nil {
					return err
				}
				ids = append(ids, id)
				return nil
			})
			if err != nil {
				return err
			}
			batch = len(ids)
			_, err = tx.Exec(ctx, "DELETE FROM fl_mq_returns WHERE id = ANY($1)", ids)
			return err
		})
		if err != nil {
			return n, unavailable(err)
		}
		n += batch
		if batch < 256 {
			return n, nil
		}
	}
}

func (s *mqStrategy) Expire(ctx context.Context, now time.Time) (int, error) {
	n, err := s.p.Expire(ctx, now)
	if _, gerr := s.giveBack(ctx, ""); err == nil {
		err = gerr
	}
	return n, err
}

// Counts are the book's, except Available and Taken, which are the gate's: what a buyer can
// still get (the book's lag behind by the backlog).
func (s *mqStrategy) Counts(ctx context.Context, sku string) (Counts, error) {
	c, err := s.p.Counts(ctx, sku)
	if err != nil {
		return c, err
	}
	ks := s.r.keys(sku, 0)
	p := s.r.rdb.Pipeline()
	a := p.Get(ctx, ks[1])
	t := p.HGet(ctx, ks[7], "taken")
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return c, unavailable(err)
	}
	c.Available, _ = a.Int64()
	c.Taken, _ = t.Int64()
	return c, nil
}

// Backlog is how many acknowledged orders of the SKU are not persisted yet.
func (s *mqStrategy) Backlog(ctx context.Context, sku string) (int64, error) {
	n, err := s.r.rdb.XLen(ctx, s.mqKeys(sku)[8]).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}

// drain waits up to drainWait for the SKU's stream to empty; it answers the backlog at the
// start and at the end.
func (s *mqStrategy) drain(ctx context.Context, sku string) (seen, left int64, err error) {
	deadline := time.Now().Add(s.drainWait)
	if seen, err = s.Backlog(ctx, sku); err != nil {
		return 0, 0, err
	}
	left = seen
	for left > 0 && time.Now().Before(deadline) {
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return seen, left, unavailable(err)
		}
		if left, err = s.Backlog(ctx, sku); err != nil {
			return seen, left, err
		}
	}
	return seen, left, nil
}

func (s *mqStrategy) Audit(ctx context.Context, sku string) (Audit, error) {
	seen, left, err := s.drain(ctx, sku)
	if err != nil {
		return Audit{}, err
	}
	a, err := s.p.Audit(ctx, sku)
	a.BacklogSeen, a.Backlog = seen, left
	return a, err
}

func (s *mqStrategy) Orders(ctx context.Context, sku string, fn func(*Order) error) error {
	if _, _, err := s.drain(ctx, sku); err != nil {
		return err
	}
	return s.p.Orders(ctx, sku, fn)
}
