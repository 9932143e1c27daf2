-- Counts an import against its target's free private-image quota before its POST, if any is free.
-- KEYS[1]  the target's quota hash
-- KEYS[2]  the target's pending set
-- ARGV[1]  import id
-- ARGV[2]  ms the POST may take at most: the reservation counts until a read this much later
-- Reply    {1, now} reserved (or held already); {0, now} none free: the target pauses (pausedSince)
-- @include now-ms
local h = redis.call('HMGET', KEYS[1], 'quota', 'used', 'readAt', 'refusedAt')
local quota = tonumber(h[1]) or -1
local used = tonumber(h[2]) or -1
local readAt = tonumber(h[3]) or -1
local refusedAt = tonumber(h[4]) or -1
local held = redis.call('ZSCORE', KEYS[2], ARGV[1])
-- Held already (an earlier POST of this import): it does not count twice.
local pending = redis.call('ZCARD', KEYS[2])
if held then pending = pending - 1 end
-- @include image-quota-paused
if paused then return {0, now} end
-- GT: a held reservation keeps the later of its two scores.
redis.call('ZADD', KEYS[2], 'GT', now + tonumber(ARGV[2]), ARGV[1])
return {1, now}
