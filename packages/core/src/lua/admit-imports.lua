-- Admits one intake request in one atomic step: takes the API key's rate limit, looks up the
-- Idempotency-Key, then writes the new records, their indexes and the key's stored answer.
-- Nothing is written unless the reply is 'created' (a refused or replayed request still spends
-- its rate-limit token, like any request). Why one script: docs/intake-admission.md
--
-- KEYS[1]: the rate limiter state (keys.apiRate)
-- KEYS[2]: the Idempotency-Key's record (keys.idempotency), only when ARGV[3] ~= ''
-- KEYS[...]: the record and index keys the records name (see write-imports.lua)
-- ARGV[1], ARGV[2]: the rate limit's interval ms and burst (see gcra.lua)
-- ARGV[3]: the request's body hash, '' when it has no Idempotency-Key
-- ARGV[4], ARGV[5]: the answer to store: field ('import' or 'response') and value (an import
--   id, or the answer's JSON)
-- ARGV[6]: how long the stored answer is kept (ms)
-- ARGV[7]: the record key of an import id without the id (keys.import('')): a replayed import's
--   record is read in this call. Built here, not passed in KEYS, as BullMQ builds job keys from
--   its prefix: it carries the same hash tag, so it is in the same cluster slot.
-- ARGV[8]: the tenant's cap of imports not yet final (0 = none)
-- ARGV[9], ARGV[10]: where in KEYS the tenant's status sets of the statuses not final start
--   (keys.tenantStatusImports, consecutive) and how many there are (0 when no cap)
-- ARGV[11...]: the records (write-imports.lua's layout), then their submit-outbox entries
--   (`<target> <import id>`, in the records' order; none when the caller queues them itself)
-- KEYS[#KEYS]: the submit outbox (keys.submitOutbox): the new records' entries are pushed there,
--   and the workers move them onto the submit queues
--
-- Returns one of:
--   {'created'}
--   {'limited', ms until a request would be let through}
--   {'replay', stored answer JSON}
--   {'replay_import', import id, its record JSON}
--   {'mismatch'}       the key was used with another body
--   {'in_progress'}    the key's request is still being handled (or being undone: its import is gone)
--   {'exists', id}     a record id is taken
--   {'over_quota', imports not yet final, cap}   the records would take the tenant past its cap

-- @include gcra
-- @include idempotency-lookup
-- @include write-imports

local wait = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait > 0 then return {'limited', tostring(wait)} end

local hash = ARGV[3]
if hash ~= '' then
  local found = idempotency_lookup(KEYS[2], hash)
  if found then
    if found[1] ~= 'replay' then return found end
    if found[2] ~= '' then return {'replay', found[2]} end
    local record = redis.call('GET', ARGV[7] .. found[3])
    if not record then return {'in_progress'} end
    return {'replay_import', found[3], record}
  end
end

-- The cap counts the tenant's status sets, which every transition keeps exact (records of
-- earlier releases included); a replay above is answered even at the cap.
local cap = tonumber(ARGV[8])
if cap > 0 then
  local open, first = 0, tonumber(ARGV[9])
  for i = first, first + tonumber(ARGV[10]) - 1 do open = open + redis.call('ZCARD', KEYS[i]) end
  if open + tonumber(ARGV[11]) > cap then return {'over_quota', tostring(open), tostring(cap)} end
end

local taken = first_existing_import(11)
if taken then return {'exists', taken} end
write_imports(11)
local entries = 11 + tonumber(ARGV[11]) * FIELDS + 1
if #ARGV >= entries then redis.call('RPUSH', KEYS[#KEYS], unpack(ARGV, entries, #ARGV)) end
if hash ~= '' then
  redis.call('HSET', KEYS[2], 'state', 'done', 'hash', hash, ARGV[4], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return {'created'}
