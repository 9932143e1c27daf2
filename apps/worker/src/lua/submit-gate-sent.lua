-- Stamps an admission of the submit gate once its POST is out (docs/submit-gate.md), or renews
-- the hold of one whose POST is not answered yet.
-- KEYS[1]  the target's window log
-- ARGV[1]  member: the admission's token (added again if it left the log: the POST is out)
-- ARGV[2]  window (ms), the safety margin included
-- ARGV[3]  hold (ms, 0 if absent): 0 stamps; more renews the hold, score now + hold
-- ARGV[4]  age (ms, 0 if absent): the stamp is now - age, the time the POST's answer was in
--          (measured by the caller up to the moment it sent this script, so never too early)
-- Reply    the score written (Redis ms)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local hold = tonumber(ARGV[3] or '0')
local score = now + hold
if hold == 0 then score = now - tonumber(ARGV[4] or '0') end
redis.call('ZADD', KEYS[1], score, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) + hold) + 1000)
return math.floor(score)
