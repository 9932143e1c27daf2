-- Gives one place back and announces it if it was held.
-- KEYS[1]  the target's in-flight set
-- ARGV[1]  import id
-- ARGV[2]  the target's freed-places channel (pub/sub, not stored)
-- ARGV[3]  id of the releasing Inflight (so it can ignore its own announcement)
-- Reply    1 if the place was held (then '1:<ARGV[3]>' is published), else 0
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed > 0 then redis.call('PUBLISH', ARGV[2], '1:' .. ARGV[3]) end
return removed
