
local function firstNHalf(n, taken, qty)
  local h = n - taken
  if h < 0 then return 0 elseif h > qty then return qty end
  return h
end

local function closedSale(now, starts, ends)
  if starts > 0 and now < starts then return 'NOT_STARTED' end
  if ends > 0 and now >= ends then return 'ENDED' end
  return nil
end
local function overLimit(users, user, qty, limit)
  if limit <= 0 then return false end
  return tonumber(redis.call('HGET', users, user) or '0') + qty > limit
end

local function orderRecord(key, user, qty, unit, half, group, coupon, created, expires, fp, home)
  return table.concat({key, user, qty, unit, tostring(half), group, coupon, created, expires, fp, home}, '\t')
end

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
