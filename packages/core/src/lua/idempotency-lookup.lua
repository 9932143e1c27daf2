-- idempotency_lookup(key, hash): what an Idempotency-Key's record (a hash: state, hash, and
-- response or import) says about a request whose body hash is `hash`:
--   nil                           unused: the request goes on
--   {'mismatch'}                  used with another body
--   {'in_progress'}               claimed without an answer (this version writes none; kept for
--                                 records of a claim, answered 409)
--   {'replay', response, import}  the stored answer: its JSON, or '' and the import id
local function idempotency_lookup(key, hash)
  local cur = redis.call('HMGET', key, 'state', 'hash', 'response', 'import')
  if not cur[1] then return nil end
  if cur[2] ~= hash then return {'mismatch'} end
  if cur[1] ~= 'done' then return {'in_progress'} end
  return {'replay', cur[3] or '', cur[4] or ''}
end
