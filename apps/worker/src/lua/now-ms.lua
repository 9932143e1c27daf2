-- Included: `now`, the Redis time in whole ms (an in-flight place's score, the image quota's times).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
