import { keys, type Redis } from '@ims-importer/core'
import { defineScript } from './redis-script.js'

/**
 * Per-key limiter state. Not in core's keys.ts because only the API reads it and losing it is
 * harmless (a limiter that forgets lets a burst through once). Under the `{ims}` hash tag like
 * every other key.
 */
export const rateLimitKey = (keyId: string): string => keys.apiRate(keyId)

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number }

export interface RateLimiter {
  take(keyId: string): Promise<RateLimitDecision>
}

/*
 * GCRA (generic cell rate algorithm): one number per key, the theoretical arrival time (TAT).
 * Each request moves TAT by one interval (60 s / limit); a request is refused while TAT would run
 * more than `burst` intervals ahead of now. Smooth (no window edges that let twice the limit
 * through) and O(1). Redis TIME is the one clock, so several API processes agree.
 * KEYS[1] state. ARGV: interval ms, burst (requests).
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > burst * interval then
  return ahead - burst * interval
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(ahead))
return 0
`

/** `perMinute` requests per minute per key, with bursts of up to `perMinute` at once. */
export function createRateLimiter(redis: Redis, perMinute: number): RateLimiter {
  const interval = 60_000 / perMinute
  const gcra = defineScript(redis, 'imsApiGcra', 1, GCRA)
  return {
    async take(keyId) {
      const wait = Number(await gcra(rateLimitKey(keyId), interval, perMinute))
      return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true }
    },
  }
}
