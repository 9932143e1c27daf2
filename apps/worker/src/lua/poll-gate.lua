-- The poll gate: one job-status GET of a target's sliding window (docs/poll-planner.md, "The poll budget").
-- KEYS[1]  the target's window log (sorted set: member = token, score = Redis ms)
-- ARGV[1]  limit: GETs allowed in any window
-- ARGV[2]  window (ms)
-- ARGV[3]  member: this GET's token
-- ARGV[4]  reserve: admit only while more than this many GETs of the window are left (may be fractional)
-- Reply    {1, available, now}: admitted, `available` GETs were left before it
--          {0, available, now}: refused (the window keeps `available` for likelier polls)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local reserve = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local available = limit - redis.call('ZCARD', KEYS[1])
if available >= 1 and available > reserve then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window) + 1000)
  return {1, available, math.floor(now)}
end
return {0, available, math.floor(now)}
