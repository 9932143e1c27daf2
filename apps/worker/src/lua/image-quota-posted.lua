-- The POST of an import has an answer that may have created its image: it counts against the
-- target's free quota until a quota read countLag ms from now.
-- KEYS[1]  the target's pending set
-- ARGV[1]  import id
-- ARGV[2]  countLag (ms)
-- Reply    1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
