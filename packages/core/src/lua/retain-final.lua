-- Shared by transition-import.lua and retain-import.lua (pulled in with `-- @include retain-final`).
-- The retention of a final record (docs/retention.md): the record expires at `due`, the
-- retention set names it (and its index entries) for the sweep, and its batch, once none of the
-- batch's imports is open, expires then too: a batch lives as long as its last import.
--   rec: the record's key; ret: the retention set; due: epoch ms; member: the record's retention
--   member; batch: nil, or { counts, record, imports, member } with the keys of the batch;
--   open: the statuses that are not final (names of fields of the counts hash).
local function retain_final(rec, ret, due, member, batch, open)
  -- SET drops a TTL, so this runs on every write of a final record (the same expiry each time).
  redis.call('PEXPIREAT', rec, due)
  redis.call('ZADD', ret, due, member)
  if not batch then return end
  local n = 0
  for _, s in ipairs(open) do n = n + (tonumber(redis.call('HGET', batch.counts, s)) or 0) end
  if n > 0 then return end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for _, k in ipairs({ batch.counts, batch.record, batch.imports }) do
    local ttl = redis.call('PTTL', k)
    -- Only ever later: the batch's last import to end sets it.
    if ttl == -1 or (ttl >= 0 and now + ttl < due) then redis.call('PEXPIREAT', k, due) end
  end
  local prev = redis.call('ZSCORE', ret, batch.member)
  if not prev or tonumber(prev) < due then redis.call('ZADD', ret, due, batch.member) end
end
