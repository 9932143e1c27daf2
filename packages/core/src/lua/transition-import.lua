-- Compare-and-set of one record on its version, moving its id between status indexes. A record
-- that becomes (or stays) final gets its retention: the record expires at ARGV[8] and the
-- retention set names its index entries for the sweep; the batch, once none of its imports is
-- open, expires then too (docs/retention.md).
-- A record that becomes final gives back its in-flight place on its target in the same step (the
-- worker's in-flight set, apps/worker/src/inflight.ts), announced on the target's freed-places
-- channel as the worker's release does: no reader sees a final import holding a place, and a
-- crash right after the final write leaves none held.
-- KEYS: 1 record, 2 old status, 3 new status, 4 old tenant status, 5 new tenant status,
--   6 the retention set, 7 the in-flight set of the record's target, then only when the record is
--   in a batch: 8 the batch's status counts, 9 the batch record, 10 the batch's imports
-- ARGV: 1 expected version, 2 new json, 3 score (creation ms), 4 id, 5 old status, 6 new status,
--   7 the target's freed-places channel ('' = the new status is not final: no place is given
--   back), then the retention arguments (store/retention.ts retentionArgs): 8 expiry (epoch ms;
--   '' = not final), 9 the record's retention member, 10 the batch's retention member ('' =
--   none), 11.. the statuses that are not final
-- Returns {'ok'}, {'missing'}, {'corrupt'} (the stored record is not JSON) or
--   {'conflict', stored version}.

-- @include retain-final

local cur = redis.call('GET', KEYS[1])
if not cur then return {'missing'} end
local ok, rec = pcall(cjson.decode, cur)
if not ok or type(rec) ~= 'table' then return {'corrupt'} end
if rec.version ~= tonumber(ARGV[1]) then return {'conflict', tostring(rec.version)} end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[5] ~= ARGV[6] then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[4])
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[4])
  if KEYS[8] then
    redis.call('HINCRBY', KEYS[8], ARGV[5], -1)
    redis.call('HINCRBY', KEYS[8], ARGV[6], 1)
  end
end
if ARGV[8] ~= '' then
  local open = {}
  for i = 11, #ARGV do open[#open + 1] = ARGV[i] end
  local batch = nil
  if KEYS[8] and ARGV[10] ~= '' then
    batch = { counts = KEYS[8], record = KEYS[9], imports = KEYS[10], member = ARGV[10] }
  end
  retain_final(KEYS[1], KEYS[6], tonumber(ARGV[8]), ARGV[9], batch, open)
end
if ARGV[7] ~= '' and redis.call('ZREM', KEYS[7], ARGV[4]) > 0 then
  redis.call('PUBLISH', ARGV[7], '1:store')
end
return {'ok'}
