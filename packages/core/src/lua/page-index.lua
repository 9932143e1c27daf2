-- One page of an index (a sorted set), newest first, after a cursor (score, id).
-- While the cursor's member is still indexed its rank locates the page (O(log N + page)); when it
-- was removed, members with the same score are compared byte-wise (Redis orders equal scores that
-- way; Lua's own string '<' follows the server locale, so it is not used).
-- KEYS[1]: the index.
-- ARGV: 1 count, 2 cursor score ('' = from the start), 3 cursor id.
-- Returns id, score, id, score, ... (at most count pairs).
local key, count = KEYS[1], tonumber(ARGV[1])
if ARGV[2] == '' then return redis.call('ZREVRANGE', key, 0, count - 1, 'WITHSCORES') end
local s, id = ARGV[2], ARGV[3]
local rank = redis.call('ZREVRANK', key, id)
if rank and tonumber(redis.call('ZSCORE', key, id)) == tonumber(s) then
  return redis.call('ZREVRANGE', key, rank + 1, rank + count, 'WITHSCORES')
end
local function before(a, b)
  local la, lb = #a, #b
  for i = 1, math.min(la, lb) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return la < lb
end
local out = {}
local ties = redis.call('ZRANGEBYSCORE', key, s, s)
for i = #ties, 1, -1 do
  if #out >= count * 2 then return out end
  if before(ties[i], id) then
    out[#out + 1] = ties[i]
    out[#out + 1] = s
  end
end
local left = count - #out / 2
if left <= 0 then return out end
local rest = redis.call('ZREVRANGEBYSCORE', key, '(' .. s, '-inf', 'WITHSCORES', 'LIMIT', 0, left)
for i = 1, #rest do out[#out + 1] = rest[i] end
return out
