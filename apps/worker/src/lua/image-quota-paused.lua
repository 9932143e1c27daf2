-- Included: whether a target's submissions pause for its private-image quota (docs/image-quota.md),
-- from `quota`, `used`, `readAt`, `refusedAt` (-1 when unknown) and `pending` (ZCARD of the pending
-- set); stamps `pausedSince` (KEYS[1]) when a pause begins. Sets `refused`, `paused`, `pausedSince`.
local refused = refusedAt >= 0 and refusedAt > readAt
local paused = refused or (quota >= 0 and quota - used - pending <= 0)
if paused then redis.call('HSETNX', KEYS[1], 'pausedSince', now) end
local pausedSince = tonumber(redis.call('HGET', KEYS[1], 'pausedSince')) or -1
