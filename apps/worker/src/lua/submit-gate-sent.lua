-- Stamps an admission of the submit gate when its POST has been written (docs/submit-gate.md):
-- the stamp follows any stall of the caller between admission and write.
-- KEYS[1]  the target's window log
-- ARGV[1]  member: the admission's token (added again if it left the log: the POST is out)
-- ARGV[2]  window (ms), the safety margin included
-- Reply    the stamp (Redis ms)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1000)
return math.floor(now)
