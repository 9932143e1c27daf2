-- Takes an in-flight place below the cap, or confirms one already held (re-stamped).
-- KEYS[1]  the target's in-flight set (sorted set: member = import id, score = Redis ms of the last acquire)
-- ARGV[1]  import id
-- ARGV[2]  cap
-- Reply    places still free after it (>= 0), or -1 when the cap is reached
-- @include now-ms
local cap = tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return math.max(0, cap - redis.call('ZCARD', KEYS[1]))
end
local n = redis.call('ZCARD', KEYS[1])
if n < cap then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return cap - n - 1
end
return -1
