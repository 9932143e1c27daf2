-- The retention sweep (docs/retention.md): removes what the retention set says is due, each
-- member with every index entry it names, in one step, so no index keeps an entry of a record
-- that is gone. The record itself has expired by now (its TTL), or is deleted here.
-- KEYS: 1 the retention set, then per member its keys (positions in ARGV):
--   an import ('i'): record, tenant index, status index, tenant status index, then the
--     external-id index (when its position > 0), then the batch's imports and status counts
--     (when its position > 0), then the tenant's index of the target (when its position > 0);
--   a batch ('b'): batch record, its imports, its status counts, the tenant's batches.
-- ARGV: 1 N, then 8 fields per member: member, kind ('i' or 'b'), id, status ('' for a batch),
--   position of its first key, position of its external-id index (0 = none), position of its
--   batch's imports (0 = none), position of its target index (0 = none):
--   ARGV[2 + 8i .. 9 + 8i] = member, kind, id, status, first, external, batch, target
-- Returns the number of members removed (members not due, or no longer there, are skipped).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ret, removed = KEYS[1], 0
for i = 0, tonumber(ARGV[1]) - 1 do
  local b = 2 + 8 * i
  local member, kind, id, status = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local first, ext, batch = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
  local bytarget = tonumber(ARGV[b + 7])
  local score = redis.call('ZSCORE', ret, member)
  if score and tonumber(score) <= now then
    if kind == 'i' then
      local keep = false
      local cur = redis.call('GET', KEYS[first])
      if cur then
        -- Still there (the clocks differ a little): removed only if it is the final record named.
        local ok, rec = pcall(cjson.decode, cur)
        keep = ok and type(rec) == 'table' and rec.status ~= status
      end
      if not keep then
        redis.call('DEL', KEYS[first])
        for k = first + 1, first + 3 do redis.call('ZREM', KEYS[k], id) end
        if ext > 0 then redis.call('ZREM', KEYS[ext], id) end
        if bytarget > 0 then redis.call('ZREM', KEYS[bytarget], id) end
        if batch > 0 and redis.call('ZREM', KEYS[batch], id) == 1 and redis.call('EXISTS', KEYS[batch + 1]) == 1 then
          redis.call('HINCRBY', KEYS[batch + 1], status, -1)
        end
      end
    else
      redis.call('DEL', KEYS[first], KEYS[first + 1], KEYS[first + 2])
      redis.call('ZREM', KEYS[first + 3], id)
    end
    redis.call('ZREM', ret, member)
    removed = removed + 1
  end
end
return removed
