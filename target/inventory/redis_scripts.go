package inventory

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The Redis strategies' store: its layout, the Lua scripts that change it atomically, and the
// codecs of what they store and answer (redis.go runs them).

// Redis layout. Every key of one bucket shares a hash tag, so each script touches one slot
// (Redis Cluster ready): PREFIX:{SKU} for redis-lua and redis-decr, PREFIX:{SKU.B} per bucket
// for redis-sharded.
//
//	meta   hash   stock, limit, starts, ends (unix ms, 0 = open), firstn
//	avail  string units left
//	users  hash   user -> units held (reserved + paid, and claims in flight)
//	keys   hash   user NUL key -> order id, or "P:FP" while the purchase is in flight
//	od     hash   order id -> the order record (order_record.go): key TAB user TAB qty TAB unit
//	              TAB half TAB group TAB coupon TAB created_ms TAB expires_ms TAB fp TAB home_bucket
//	os     hash   order id -> r (reserved) | p (paid) | x (released)
//	exp    zset   reserved order ids by expiry (ms)
//	c      hash   taken, seq, reserved, paid, released, orders
//
// meta also holds gen, the generation of the Configure that wrote the bucket: a Configure
// takes a generation from PREFIX:{catalog}:seq and resets only buckets of an older one, so
// concurrent Configures of one SKU from several replicas end with every bucket and the Def of
// the last generation, whatever the interleaving (the buckets of redis-sharded live in
// different slots, so no one script can reset them all).
//
// The catalog (see Catalog) lives beside the stock:
//
//	PREFIX:{catalog}:defs   hash   sku -> Def
//	PREFIX:{catalog}:gens   hash   sku -> generation of the Def
//	PREFIX:{catalog}:ver    string CatalogVersion, incremented by every Configure
//	PREFIX:{catalog}:seq    string generations
//	PREFIX:{SKU}:gseq       string group ids of the SKU
//	PREFIX:{SKU}:g:SEQ      hash   m -> members, TAB-separated in join order
//	PREFIX:{SKU}:coupons    set    users who unlocked the SKU's team coupon
//
// A group id is "SKU.gSEQ", so its keys are found from the id alone, in the slot of the
// SKU's coupons (one script joins and unlocks).
var bucketKeys = [...]string{"meta", "avail", "users", "keys", "od", "os", "exp", "c"}

const luaPrelude = luaFirstNHalf + luaSaleRules + luaOrderRecord + `
local function split(s)
  local t = {}
  for f in (s .. '\t'):gmatch('([^\t]*)\t') do t[#t + 1] = f end
  return t
end
local function release(id, f, own)
  local q = tonumber(f[3])
  redis.call('HSET', KEYS[6], id, 'x')
  redis.call('ZREM', KEYS[7], id)
  redis.call('HINCRBY', KEYS[8], 'reserved', -q)
  redis.call('HINCRBY', KEYS[8], 'released', q)
  redis.call('INCRBY', KEYS[2], q)
  if own then redis.call('HINCRBY', KEYS[3], f[2], -q) end
end
`

// luaSaleRules are the rules the reserving scripts check before the stock, in the target's
// order (rules.go): closedSale answers NOT_STARTED or ENDED outside the sale's window (0: open
// on that side), overLimit whether qty more units take the user past the per-user limit (0: none).
const luaSaleRules = `
local function closedSale(now, starts, ends)
  if starts > 0 and now < starts then return 'NOT_STARTED' end
  if ends > 0 and now >= ends then return 'ENDED' end
  return nil
end
local function overLimit(users, user, qty, limit)
  if limit <= 0 then return false end
  return tonumber(redis.call('HGET', users, user) or '0') + qty > limit
end
`

// luaFirstNHalf is the first-N half price as the Redis strategies' scripts count it, the
// counterpart of halfUnits: of qty units taken after taken others, those still among the first
// n sell at half price. One definition for every script that reserves.
const luaFirstNHalf = `
local function firstNHalf(n, taken, qty)
  local h = n - taken
  if h < 0 then return 0 elseif h > qty then return qty end
  return h
end
`

// reserveScript is the one script of redis-lua: window, idempotency key, per-user limit, stock,
// decrement and the order record, atomically. redis-sharded runs it in "claim" mode on the
// user's home bucket (on an empty bucket it claims the user's units and the key and answers
// PROBE) and in "steal" mode on the others (stock and order only).
// ARGV: mode user qty ukey fp now_ms expires_ms unit group coupon idprefix home key
// scripts/bench-redis runs the same text (testdata/reserve.lua, kept equal by a test) under
// redis-benchmark, as the ceiling the strategies are measured against.
var reserveScript = redis.NewScript(reserveLua)

const reserveLua = luaPrelude + `
local mode = ARGV[1]
local m = redis.call('HMGET', KEYS[1], 'stock', 'limit', 'starts', 'ends', 'firstn')
if not m[1] then return {'UNKNOWN_SKU'} end
local qty = tonumber(ARGV[3])
if mode ~= 'steal' then
  local closed = closedSale(tonumber(ARGV[6]), tonumber(m[3]), tonumber(m[4]))
  if closed then return {closed} end
  if ARGV[4] ~= '' then
    local v = redis.call('HGET', KEYS[4], ARGV[4])
    if v then
      if string.sub(v, 1, 2) == 'P:' then
        if string.sub(v, 3) == ARGV[5] then return {'IN_FLIGHT'} end
        return {'KEY_REUSED'}
      end
      return {'REPLAY', v, redis.call('HGET', KEYS[5], v) or ''}
    end
  end
  if overLimit(KEYS[3], ARGV[2], qty, tonumber(m[2])) then return {'LIMIT'} end
end
local avail = tonumber(redis.call('GET', KEYS[2]) or '0')
if avail < qty then
  if mode == 'claim' then
    redis.call('HINCRBY', KEYS[3], ARGV[2], qty)
    if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], 'P:' .. ARGV[5]) end
    return {'PROBE'}
  end
  return {'SOLD_OUT'}
end
redis.call('DECRBY', KEYS[2], qty)
local taken = redis.call('HINCRBY', KEYS[8], 'taken', qty) - qty
local half = firstNHalf(tonumber(m[5]), taken, qty)
local seq = redis.call('HINCRBY', KEYS[8], 'seq', 1)
local id = ARGV[11] .. tostring(seq)
local d = orderRecord(ARGV[13], ARGV[2], ARGV[3], ARGV[8], half, ARGV[9], ARGV[10], ARGV[6], ARGV[7], ARGV[5], ARGV[12])
redis.call('HSET', KEYS[5], id, d)
redis.call('HSET', KEYS[6], id, 'r')
redis.call('ZADD', KEYS[7], ARGV[7], id)
redis.call('HINCRBY', KEYS[8], 'reserved', qty)
redis.call('HINCRBY', KEYS[8], 'orders', 1)
if mode ~= 'steal' then
  redis.call('HINCRBY', KEYS[3], ARGV[2], qty)
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], id) end
end
return {'RESERVED', id, d}
`

// settleScript moves one order: pay, cancel (user checked) or expire.
// ARGV: id user now_ms op bucket. Answers {CODE, data, adjust} where adjust "1" asks the caller
// to give the user's units back in the home bucket (another slot).
var settleScript = redis.NewScript(luaPrelude + `
local d = redis.call('HGET', KEYS[5], ARGV[1])
if not d then return {'NO_ORDER'} end
local f = split(d)
if ARGV[2] ~= '' and f[2] ~= ARGV[2] then return {'FORBIDDEN', d, '0'} end
local s = redis.call('HGET', KEYS[6], ARGV[1])
local op = ARGV[4]
if s == 'p' then
  if op == 'pay' then return {'PAID', d, '0'} end
  return {'ALREADY_PAID', d, '0'}
end
if s == 'x' then
  if op == 'pay' then return {'EXPIRED', d, '0'} end
  return {'RELEASED', d, '0'}
end
local own = f[11] == ARGV[5]
local adj = '1'
if own then adj = '0' end
if op == 'pay' then
  if tonumber(ARGV[3]) < tonumber(f[9]) then
    local q = tonumber(f[3])
    redis.call('HSET', KEYS[6], ARGV[1], 'p')
    redis.call('ZREM', KEYS[7], ARGV[1])
    redis.call('HINCRBY', KEYS[8], 'reserved', -q)
    redis.call('HINCRBY', KEYS[8], 'paid', q)
    return {'PAID', d, '0'}
  end
  release(ARGV[1], f, own)
  return {'EXPIRED_NOW', d, adj}
end
release(ARGV[1], f, own)
return {'RELEASED_NOW', d, adj}
`)

// expireScript releases up to ARGV[3] reservations due at ARGV[1] (ms) in one bucket (ARGV[2]).
// Answers {n, home, user, qty, ...} for released orders whose user lives in another bucket.
var expireScript = redis.NewScript(luaPrelude + `
local ids = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {0}
for _, id in ipairs(ids) do
  local d = redis.call('HGET', KEYS[5], id)
  local s = redis.call('HGET', KEYS[6], id)
  if d and s == 'r' then
    local f = split(d)
    release(id, f, f[11] == ARGV[2])
    out[1] = out[1] + 1
    if f[11] ~= ARGV[2] then
      out[#out + 1] = f[11]; out[#out + 1] = f[2]; out[#out + 1] = f[3]
    end
  else
    redis.call('ZREM', KEYS[7], id)
  end
end
out[#out + 1] = #ids
return out
`)

// settleClaimScript ends a redis-sharded claim on the home bucket: with an order id the key
// points at it; without, the claimed units and the key are given back.
// KEYS: users keys. ARGV: user ukey qty id
var settleClaimScript = redis.NewScript(`
if ARGV[4] == '' then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[3]))
  if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[2]) end
elseif ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
end
return 1
`)

// configureScript resets one bucket unless a newer generation (ARGV[1]) already did.
// KEYS: bucketKeys. ARGV: gen stock limit starts ends firstn
var configureScript = redis.NewScript(`
local g = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if g > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', unpack(KEYS))
redis.call('HSET', KEYS[1], 'stock', ARGV[2], 'limit', ARGV[3], 'starts', ARGV[4], 'ends', ARGV[5], 'firstn', ARGV[6], 'gen', ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1
`)

// putDefScript stores a Def unless a newer generation's is there, and bumps the version.
// KEYS: defs gens ver. ARGV: sku gen def
var putDefScript = redis.NewScript(`
local g = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if g <= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return redis.call('INCR', KEYS[3])
`)

// joinScript adds a member to a group and unlocks the team coupon at couponAt members.
// KEYS: group coupons. ARGV: user max couponAt. Answers members, or -1 (no group), -2 (full).
var joinScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'm')
if not v then return -1 end
local m = {}
for f in string.gmatch(v, '[^\t]+') do m[#m + 1] = f end
for _, f in ipairs(m) do
  if f == ARGV[1] then return #m end
end
if #m >= tonumber(ARGV[2]) then return -2 end
m[#m + 1] = ARGV[1]
redis.call('HSET', KEYS[1], 'm', table.concat(m, '\t'))
if #m >= tonumber(ARGV[3]) then redis.call('SADD', KEYS[2], unpack(m)) end
return #m
`)

// decode reads an od value, whose status is status (os: r, p or x).
func decode(id, sku, d string, status string) (Order, bool) {
	rec, ok := decodeRecord(d)
	if !ok {
		return Order{}, false
	}
	st := Reserved
	switch status {
	case "p":
		st = Paid
	case "x":
		st = Released
	}
	return rec.order(id, sku, st), true
}

func homeOf(d string) int {
	rec, _ := decodeRecord(d)
	return rec.Home
}

// codeErr is the error of a script's answer code.
func codeErr(code string) error {
	switch code {
	case "UNKNOWN_SKU":
		return ErrUnknownSKU
	case "NOT_STARTED":
		return ErrNotStarted
	case "ENDED":
		return ErrEnded
	case "IN_FLIGHT":
		return ErrInFlight
	case "KEY_REUSED":
		return ErrKeyReused
	case "LIMIT":
		return ErrLimit
	case "SOLD_OUT":
		return ErrSoldOut
	case "NO_ORDER":
		return ErrNoOrder
	case "FORBIDDEN":
		return ErrForbidden
	case "ALREADY_PAID":
		return ErrPaid
	case "EXPIRED", "EXPIRED_NOW":
		return ErrExpired
	}
	return unavailable(fmt.Errorf("unexpected script answer %q", code))
}
