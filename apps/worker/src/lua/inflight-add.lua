-- Records imports known to be in flight, regardless of the cap (adoption, reconciler).
-- KEYS[1]  the target's in-flight set
-- ARGV     import ids; those already present keep their score
-- Reply    how many were added
-- @include now-ms
local added = 0
for i = 1, #ARGV do
  added = added + redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i])
end
return added
