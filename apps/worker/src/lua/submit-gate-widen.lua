-- Reads, or sets, a target's margin widening after a 429 (docs/submit-gate.md, "A 429 widens").
-- The policy is widenOnThrottle (submit-gate.ts); this script only keeps its state on Redis time.
-- KEYS[1]  the target's margin widening (hash: ms, at = Redis ms it was set)
-- ARGV[1]  '' to read; else the new widening (ms), set with at = now
-- ARGV[2]  time to live (ms) of a widening set, about until it has decayed below 1 ms
-- Reply    {ms, at, now} as read (ms and at -1 when none), or as set
-- @include now-ms
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[1], 'ms', ARGV[1], 'at', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
  return {tonumber(ARGV[1]), now, now}
end
local w = redis.call('HMGET', KEYS[1], 'ms', 'at')
if not (w[1] and w[2]) then return {-1, -1, now} end
return {tonumber(w[1]), tonumber(w[2]), now}
