-- Takes one request of a key's rate limit (see gcra.lua).
-- KEYS[1]: the limiter state (keys.apiRate).
-- ARGV: interval ms, burst (requests).
-- Returns 0 when let through, else the ms until a request would be.

-- @include gcra

return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
