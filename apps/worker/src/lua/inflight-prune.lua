-- Removes stale places, each only if nobody re-acquired it since it was read.
-- KEYS[1]  the target's in-flight set
-- ARGV[1]  the target's freed-places channel
-- ARGV[2]  id of the pruning Inflight
-- ARGV[3..] pairs of import id, score as read
-- Reply    how many went (then '<count>:<ARGV[2]>' is published)
local removed = 0
for i = 3, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
if removed > 0 then redis.call('PUBLISH', ARGV[1], removed .. ':' .. ARGV[2]) end
return removed
