-- Drops an Idempotency-Key's stored answer after its request failed without accepting anything,
-- so that a retry runs anew; a record made by another body is left alone.
-- KEYS[1]: the key's record (keys.idempotency).
-- ARGV[1]: the body hash of the failed request.
-- Returns 1 when dropped, else 0.
if redis.call('HGET', KEYS[1], 'hash') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
