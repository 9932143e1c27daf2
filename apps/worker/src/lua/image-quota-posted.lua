-- The POST of an import has an answer that may have created its image: it counts against the
-- target's free quota until a quota read countLag ms from now.
-- KEYS[1]  the target's pending set
-- ARGV[1]  import id
-- ARGV[2]  countLag (ms)
-- Reply    1
-- @include now-ms
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
