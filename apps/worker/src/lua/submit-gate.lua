-- The submit gate: one admission to a sliding-window log (docs/submit-gate.md).
-- KEYS[1]  the target's window log (sorted set: member = admission token, score = Redis ms)
-- ARGV[1]  limit: admissions allowed in any window
-- ARGV[2]  window (ms), the safety margin included
-- ARGV[3]  member: this admission's token; one still in the log is re-stamped in its own slot
-- ARGV[4]  hold (ms, 0 if absent): stamp now + hold, an admission whose POST is not written yet
--          (submit-gate-sent.lua stamps it when it is); it counts, and is not trimmed meanwhile
-- Reply    {1, 0, now} admitted; {0, wait, now}: full, a slot frees in about `wait` ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local hold = tonumber(ARGV[4] or '0')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + hold, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window + hold) + 1000)
  return {1, 0, math.floor(now)}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
-- A held oldest entry is stamped when its POST is written, within a hold: about a window.
local wait = math.min(tonumber(oldest[2]) + window - now, window)
return {0, math.ceil(wait), math.floor(now)}
