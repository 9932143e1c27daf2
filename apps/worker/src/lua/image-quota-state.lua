-- A target's private-image quota as a submission needs it, and whether the caller reads it now.
-- KEYS[1]  the target's quota hash (quota, used, readAt, refusedAt, refusedMessage, pausedSince, failedAt)
-- KEYS[2]  the target's pending set (member = import id, score = Redis ms after which a read counts it)
-- KEYS[3]  the target's read lock
-- ARGV[1]  refresh (ms): a read is due this long after the last one; the lock is held this long
-- ARGV[2]  import id asking ('' for none): whether it holds a reservation already
-- ARGV[3]  take the read lock when a read is due: '0' never, '1' always, '2' only while paused
-- Reply    {now, quota, used, readAt, pending, mine, refused, paused, pausedSince, read, lockTtl,
--          failedAt, refusedMessage}: -1 for an unknown number, 0/1 for a flag; read = 1 when the
--          caller took the lock and must read the quota now (then store it: image-quota-store.lua)
-- @include now-ms
local refresh = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'quota', 'used', 'readAt', 'refusedAt', 'refusedMessage', 'failedAt')
local quota = tonumber(h[1]) or -1
local used = tonumber(h[2]) or -1
local readAt = tonumber(h[3]) or -1
local refusedAt = tonumber(h[4]) or -1
local pending = redis.call('ZCARD', KEYS[2])
local mine = 0
if ARGV[2] ~= '' and redis.call('ZSCORE', KEYS[2], ARGV[2]) then mine = 1 end
-- @include image-quota-paused
local read = 0
local due = readAt < 0 or now - readAt >= refresh
if due and (ARGV[3] == '1' or (ARGV[3] == '2' and paused)) then
  if redis.call('SET', KEYS[3], now, 'NX', 'PX', refresh) then read = 1 end
end
local ttl = redis.call('PTTL', KEYS[3])
if ttl < 0 then ttl = 0 end
return {now, quota, used, readAt, pending, mine, refused and 1 or 0, paused and 1 or 0, pausedSince,
  read, ttl, tonumber(h[6]) or -1, h[5] or ''}
