import { type CreateGuard, keys, luaScript, type Redis, runScript } from '@ims-importer/core'
import { IDEMPOTENCY_LOOKUP_LUA, type IdempotencyLookup, parseLookup } from './idempotency.js'
import { HttpProblem } from './problem.js'

/**
 * Per-key limiter state. Not in core's keys.ts because only the API reads it and losing it is
 * harmless (a limiter that forgets lets a burst through once). Under the `{ims}` hash tag like
 * every other key.
 */
export const rateLimitKey = (keyId: string): string => keys.apiRate(keyId)

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterMs: number }

/** Why an admission guard refused a create: the key's rate limit, or its Idempotency-Key. */
export type AdmissionRefusal =
  | { limited: true; retryAfterMs: number }
  | ({ limited: false } & IdempotencyLookup)

export interface RateLimiter {
  take(keyId: string): Promise<RateLimitDecision>
  /**
   * The guard of an intake route's create (store.create's `guard`): takes the key's rate limit
   * and, when let through and an Idempotency-Key is given (its Redis key and the body hash),
   * looks it up, in the same script that then writes the records. Nothing is written when it
   * refuses (the limit is spent by a replay, like by any request); `refusal` reads why.
   */
  admissionGuard(keyId: string, idempotency: { key: string; bodyHash: string } | null): CreateGuard
  refusal(reply: unknown[]): AdmissionRefusal
}

/** The 429 problem for a refused request, with a Retry-After in whole seconds (at least 1). */
export function rateLimitedProblem(retryAfterMs: number, perMinute: number): HttpProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new HttpProblem('rate_limited', `rate limit of ${perMinute} requests per minute reached`, {
    headers: { 'retry-after': String(seconds) },
  })
}

/*
 * GCRA (generic cell rate algorithm): one number per key, the theoretical arrival time (TAT).
 * Each request moves TAT by one interval (60 s / limit); a request is refused while TAT would run
 * more than `burst` intervals ahead of now. Smooth (no window edges that let twice the limit
 * through) and O(1). Redis TIME is the one clock, so several API processes agree.
 * Returns 0 when let through, else the ms until it would be.
 */
const GCRA_LUA = `
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
  redis.call('SET', key, new_tat, 'PX', math.ceil(ahead))
  return 0
end
`
// KEYS[1] limiter state. ARGV: interval ms, burst (requests).
const TAKE = luaScript(`${GCRA_LUA}
return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
`)
// The admission guard: keys[1] limiter state, keys[2] idempotency key (optional).
// args: interval, burst, body hash (when keys[2]). Refuses with {'limited', ms} or a lookup reply.
const ADMISSION_GUARD = `${GCRA_LUA}${IDEMPOTENCY_LOOKUP_LUA}
local function guard(keys, args)
  local wait = gcra(keys[1], tonumber(args[1]), tonumber(args[2]))
  if wait > 0 then return {'limited', tostring(wait)} end
  if keys[2] then return idempotency_lookup(keys[2], args[3]) end
  return nil
end
`

const decisionOf = (wait: number): RateLimitDecision =>
  wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true }

/** `perMinute` requests per minute per key, with bursts of up to `perMinute` at once. */
export function createRateLimiter(redis: Redis, perMinute: number): RateLimiter {
  const interval = 60_000 / perMinute
  return {
    async take(keyId) {
      return decisionOf(Number(await runScript(redis, TAKE, [rateLimitKey(keyId)], [interval, perMinute])))
    },
    admissionGuard: (keyId, idempotency) => ({
      lua: ADMISSION_GUARD,
      keys: idempotency ? [rateLimitKey(keyId), idempotency.key] : [rateLimitKey(keyId)],
      args: idempotency ? [interval, perMinute, idempotency.bodyHash] : [interval, perMinute],
    }),
    refusal(reply) {
      if (reply[0] === 'limited') return { limited: true, retryAfterMs: Number(reply[1]) }
      return { limited: false, ...parseLookup(reply) }
    },
  }
}
