-- Removes a record and every index entry of it. The status comes from the stored record, and the
-- id is removed from every status set, so a concurrent transition cannot leave a stale entry.
-- KEYS: 1 record, 2 tenant index, then ARGV[2] status sets, then ARGV[2] tenant status sets,
--   then the external-id index (when ARGV[3] > 0), then the batch set and its status counts
--   (when ARGV[4] > 0), then the tenant's target index (when ARGV[5] > 0)
-- ARGV: 1 id, 2 number of statuses, 3 position of the external-id index in KEYS (0 = none),
--   4 position of the batch set (0 = none; its status counts follow it), 5 position of the
--   target index (0 or absent = none)
-- Returns 1 when the record existed, else 0.
local cur = redis.call('GET', KEYS[1])
local status = nil
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' then status = rec.status end
end
redis.call('DEL', KEYS[1])
local statuses = tonumber(ARGV[2])
for i = 2, 2 + 2 * statuses do redis.call('ZREM', KEYS[i], ARGV[1]) end
local ext, batch = tonumber(ARGV[3]), tonumber(ARGV[4])
if ext > 0 then redis.call('ZREM', KEYS[ext], ARGV[1]) end
local tgt = tonumber(ARGV[5] or '0')
if tgt > 0 then redis.call('ZREM', KEYS[tgt], ARGV[1]) end
if batch > 0 then
  local removed = redis.call('ZREM', KEYS[batch], ARGV[1])
  if removed == 1 and type(status) == 'string' then redis.call('HINCRBY', KEYS[batch + 1], status, -1) end
end
if cur then return 1 end
return 0
