-- The submit gate: one admission to a sliding-window log (docs/submit-gate.md).
-- KEYS[1]  the target's window log (sorted set: member = admission token, score = Redis ms)
-- KEYS[2]  the target's margin widening after a 429 (hash: ms, at = Redis ms it was set; see
--          submit-gate-widen.lua); it narrows by half every ARGV[5] ms
-- ARGV[1]  limit: admissions allowed in any window
-- ARGV[2]  window (ms), the safety margin included (the widening is added here)
-- ARGV[3]  member: this admission's token; one still in the log is re-stamped in its own slot
-- ARGV[4]  hold (ms, 0 if absent): stamp now + hold, an admission whose POST is not answered yet
--          (submit-gate-sent.lua renews and finally stamps it); it counts, and is not trimmed meanwhile
-- ARGV[5]  the widening's half-life (ms); 0 or absent: no widening (a fixed margin)
-- Reply    {1, 0, now, widening} admitted; {0, wait, now, widening}: full, a slot frees in about
--          `wait` ms; widening = the ms added to the window (floored)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local hold = tonumber(ARGV[4] or '0')
local halfLife = tonumber(ARGV[5] or '0')
-- The same decay as wideningAt (submit-gate.ts).
local widening = 0
if halfLife > 0 then
  local w = redis.call('HMGET', KEYS[2], 'ms', 'at')
  if w[1] and w[2] then
    widening = tonumber(w[1]) * 0.5 ^ (math.max(0, now - tonumber(w[2])) / halfLife)
    if widening < 1 then widening = 0 end
  end
end
local window = tonumber(ARGV[2]) + widening
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window + hold) + 1000)
  return {1, 0, math.floor(now), math.floor(widening)}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
-- A held oldest entry is stamped when its POST is answered, renewed meanwhile: wait a window at most.
local wait = math.min(tonumber(oldest[2]) + window - now, window)
return {0, math.ceil(wait), math.floor(now), math.floor(widening)}
