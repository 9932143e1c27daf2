-- Gives retention to a final record written without it (by a release before retention, or
-- rewritten by one): what transition-import.lua does when a record becomes final.
-- KEYS: 1 record, 2 the retention set, then only when the record is in a batch: 3 the batch's
--   status counts, 4 the batch record, 5 the batch's imports
-- ARGV: 1 expiry (epoch ms), 2 the record's retention member, 3 the batch's retention member
--   ('' = none), 4.. the statuses that are not final
-- Returns 1 when retention was given; 0 when the record is missing, has a TTL already, is not
--   JSON or is not final.

-- @include retain-final

if redis.call('PTTL', KEYS[1]) ~= -1 then return 0 end
local ok, rec = pcall(cjson.decode, redis.call('GET', KEYS[1]))
if not ok or type(rec) ~= 'table' then return 0 end
local open = {}
for i = 4, #ARGV do
  open[#open + 1] = ARGV[i]
  if rec.status == ARGV[i] then return 0 end
end
local batch = nil
if KEYS[3] and ARGV[3] ~= '' then
  batch = { counts = KEYS[3], record = KEYS[4], imports = KEYS[5], member = ARGV[3] }
end
retain_final(KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[2], batch, open)
return 1
