-- gcra(key, interval, burst): takes one request of a rate limit (GCRA, the generic cell rate
-- algorithm). One number per key, the theoretical arrival time (TAT, epoch ms): each request
-- moves it one interval (ms) on; a request is refused while the TAT would run more than `burst`
-- intervals ahead of now. Smooth (no window edges letting twice the limit through) and O(1).
-- Redis TIME is the one clock, so several API processes agree.
-- Returns 0 when let through (and moves the TAT), else the ms until it would be (nothing written).
local function gcra(key, interval, burst)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local ahead = new_tat - now
  if ahead > burst * interval then
    return ahead - burst * interval
  end
  redis.call('SET', key, new_tat, 'PX', math.max(1, math.ceil(ahead)))
  return 0
end
