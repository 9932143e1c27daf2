-- IMS answered a quick import of the target with IMG.0015: the target pauses until a later read of
-- its quota shows free places; the import's reservation goes (IMS created nothing).
-- KEYS[1]  the target's quota hash
-- KEYS[2]  the target's pending set
-- ARGV[1]  import id
-- ARGV[2]  IMS's message
-- Reply    {now, pausedSince}
-- @include now-ms
redis.call('HSET', KEYS[1], 'refusedAt', now, 'refusedMessage', ARGV[2])
redis.call('HSETNX', KEYS[1], 'pausedSince', now)
redis.call('ZREM', KEYS[2], ARGV[1])
return {now, tonumber(redis.call('HGET', KEYS[1], 'pausedSince'))}
