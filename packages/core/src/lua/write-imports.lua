-- Shared by create-imports.lua and admit-imports.lua (pulled in with `-- @include write-imports`).
--
-- New records, from ARGV[a] on: ARGV[a] = N, then 9 fields per record (record i at a + 9i + 1..9):
--   1 json, 2 score (creation ms), 3 id, 4 index in its batch ('' = after the batch's last),
--   5 position in KEYS of the record key,
--   6 position of its three index keys, consecutive: tenant, status (queued), tenant status,
--   7 position of its batch set, followed by the batch's status-counts hash (0 = no batch),
--   8 position of its external-id index (0 = none),
--   9 position of its tenant's target index (keys.tenantTargetImports).
-- Keys that records share (one tenant's indexes, one batch's) stand in KEYS once.

local FIELDS = 9

-- The id of the first record whose key exists, or nil.
local function first_existing_import(a)
  local n = tonumber(ARGV[a])
  for i = 0, n - 1 do
    local b = a + i * FIELDS
    if redis.call('EXISTS', KEYS[tonumber(ARGV[b + 5])]) == 1 then return ARGV[b + 3] end
  end
  return nil
end

-- Writes every record with its indexes, all status queued; a batch's status counts grow by its records.
local function write_imports(a)
  local n = tonumber(ARGV[a])
  local queued = {}
  for i = 0, n - 1 do
    local b = a + i * FIELDS
    local json, score, id, index = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    local indexes = tonumber(ARGV[b + 6])
    redis.call('SET', KEYS[tonumber(ARGV[b + 5])], json)
    redis.call('ZADD', KEYS[indexes], score, id)
    redis.call('ZADD', KEYS[indexes + 1], score, id)
    redis.call('ZADD', KEYS[indexes + 2], score, id)
    local batch = tonumber(ARGV[b + 7])
    if batch > 0 then
      -- scored by item index; without one, the batch's append order
      if index == '' then index = redis.call('ZCARD', KEYS[batch]) end
      redis.call('ZADD', KEYS[batch], 'NX', index, id)
      queued[batch + 1] = (queued[batch + 1] or 0) + 1
    end
    local ext = tonumber(ARGV[b + 8])
    if ext > 0 then redis.call('ZADD', KEYS[ext], score, id) end
    redis.call('ZADD', KEYS[tonumber(ARGV[b + 9])], score, id)
  end
  for counts, added in pairs(queued) do redis.call('HINCRBY', KEYS[counts], 'queued', added) end
end
