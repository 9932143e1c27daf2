-- Stores a read of a target's private-image quota, unless a later read is stored already.
-- Imports whose image the read counts (pending score < readAt) leave the pending set.
-- KEYS[1]  the target's quota hash
-- KEYS[2]  the target's pending set
-- ARGV[1]  readAt: Redis ms before the GET was sent (the image of a POST answered before it is counted)
-- ARGV[2]  quota
-- ARGV[3]  used
-- Reply    {stored (0: a later read was there), paused, resumed (1: a pause ended with this read)}
-- @include now-ms
local readAt = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'readAt', 'refusedAt')
if (tonumber(h[1]) or -1) >= readAt then return {0, 0, 0} end
local quota = tonumber(ARGV[2])
local used = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'quota', quota, 'used', used, 'readAt', readAt)
redis.call('HDEL', KEYS[1], 'failedAt')
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. readAt)
local refusedAt = tonumber(h[2]) or -1
-- IMS's refusal is older than this read: the read says what is free now.
if refusedAt >= 0 and refusedAt <= readAt then
  redis.call('HDEL', KEYS[1], 'refusedAt', 'refusedMessage')
  refusedAt = -1
end
local pending = redis.call('ZCARD', KEYS[2])
-- @include image-quota-paused
if paused then return {1, 1, 0} end
return {1, 0, redis.call('HDEL', KEYS[1], 'pausedSince')}
