-- Compare-and-set of one record on its version, moving its id between status indexes.
-- KEYS: 1 record, 2 old status, 3 new status, 4 old tenant status, 5 new tenant status,
--   6 the batch's status counts (only when the record is in a batch)
-- ARGV: 1 expected version, 2 new json, 3 score (creation ms), 4 id, 5 old status, 6 new status
-- Returns {'ok'}, {'missing'}, {'corrupt'} (the stored record is not JSON) or
--   {'conflict', stored version}.
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
  if KEYS[6] then
    redis.call('HINCRBY', KEYS[6], ARGV[5], -1)
    redis.call('HINCRBY', KEYS[6], ARGV[6], 1)
  end
end
return {'ok'}
