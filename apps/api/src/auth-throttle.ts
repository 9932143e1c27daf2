import type { Keys, Redis } from '@ims-importer/core'
import { HttpProblem, withDeadline } from './problem.js'

/** Addresses this process remembers as having failed recently (the hint that costs no Redis call). */
const MAX_REMEMBERED = 10_000
/** Redis gets this long per throttle step; past it the request goes on (fail open). */
const STEP_MS = 200

export interface AuthThrottleSettings {
  /** Failed authentications per address and window before the address gets 429. */
  maxFailures: number
  windowMs: number
}

/**
 * Failed-auth throttling per client address: wrong keys are counted in Redis per address
 * (keys.authFailures, a fixed window), and past `maxFailures` in a window every request from the
 * address that needs a key gets 429 until the window ends, a right key included (a guess that
 * hits must not be told apart). Clients that never failed cost nothing: only addresses this
 * process saw fail are looked up before their key is checked. Redis trouble never locks anyone
 * out: the throttle then lets requests through (fail open) and auth answers as usual.
 */
export interface AuthThrottle {
  /** Whether the address failed recently in this process: only then is `check` worth its round trip. */
  suspect(address: string): boolean
  /** Before the key is checked: a 429 problem when the address is throttled, else null. */
  check(address: string): Promise<HttpProblem | null>
  /** After a presented key did not match: counts it; a 429 problem once past the limit, else null. */
  failed(address: string): Promise<HttpProblem | null>
}

export function createAuthThrottle(redis: Redis, keys: Keys, settings: AuthThrottleSettings): AuthThrottle {
  /** address -> epoch ms until which it is worth a look in Redis. */
  const recent = new Map<string, number>()
  const remember = (address: string, untilMs: number) => {
    recent.delete(address)
    recent.set(address, untilMs)
    if (recent.size > MAX_REMEMBERED) recent.delete(recent.keys().next().value as string)
  }
  const limited = (retryAfterMs: number) =>
    new HttpProblem(
      'rate_limited',
      `too many failed authentications from this address; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
      { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
    )

  return {
    suspect(address) {
      const until = recent.get(address)
      if (until === undefined) return false
      if (until > Date.now()) return true
      recent.delete(address)
      return false
    },

    async check(address) {
      try {
        const key = keys.authFailures(address)
        const [count, ttl] = await withDeadline(
          'auth throttle',
          STEP_MS,
          Promise.all([redis.get(key), redis.pttl(key)]),
        )
        return Number(count ?? 0) >= settings.maxFailures && ttl > 0 ? limited(ttl) : null
      } catch {
        return null
      }
    },

    async failed(address) {
      try {
        const key = keys.authFailures(address)
        const results = await withDeadline(
          'auth throttle',
          STEP_MS,
          redis.multi().set(key, 0, 'PX', settings.windowMs, 'NX').incr(key).pttl(key).exec(),
        )
        const count = Number(results?.[1]?.[1] ?? 0)
        const ttl = Number(results?.[2]?.[1] ?? settings.windowMs)
        remember(address, Date.now() + Math.max(ttl, 0))
        return count > settings.maxFailures ? limited(ttl) : null
      } catch {
        return null
      }
    },
  }
}
