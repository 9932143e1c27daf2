-- Included: `now`, the Redis time in whole ms (the score of an in-flight place).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
