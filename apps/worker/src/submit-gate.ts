import { keys, type Redis } from '@ims-importer/core'

/**
 * The submit gate: at most `limit` quick-import POSTs per target in ANY sliding window of
 * `windowMs`, across every worker process.
 *
 * Why not BullMQ's limiter: it counts fixed windows (a counter with a TTL that starts at the
 * first job), so a burst at the end of one window and another at the start of the next pass
 * 2x the limit through a sliding window (measured: max 10 / 1000 ms let 19 starts into one
 * sliding second). IMS's gateway counts its own windows, whose phase we do not know, so only a
 * limit that holds in every window is safe. This is a sliding-window log: a sorted set of the
 * admission times of the last window, trimmed and checked in one Lua script, so the check and
 * the admission are atomic across processes. Redis `TIME` is the one clock: worker clocks may
 * drift, the server's does not differ between callers. The log holds at most `limit` entries
 * per target, so memory is bounded. (GCRA would need less memory but spreads admissions evenly
 * and so cannot let a small burst through; the log is exact for both.)
 *
 * Safety margin: the gate admits at Redis time, IMS counts at arrival time. Two POSTs admitted
 * exactly one window apart may arrive closer together when the first is delayed more (event
 * loop, network). The gate therefore enforces a window `marginMs` longer than configured
 * (default 5% of the window, at least 50 ms), which costs at most that share of throughput.
 * And an admission whose reply took more than half the margin to come back (a busy event loop,
 * a slow Redis) is not used: the slot stays taken (conservative) and the caller asks again, so
 * the delay between admission and the POST leaving stays well inside the margin.
 */
const GATE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window) + 1000)
  return {1, 0, math.floor(now)}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
return {0, math.ceil(wait), math.floor(now)}
`

export interface GateLimit {
  target: string
  /** POSTs allowed in any sliding window of windowMs. */
  limit: number
  windowMs: number
}

export type GateResult = { admitted: true; at: number } | { admitted: false; waitMs: number }

export interface SubmitGate {
  /** One attempt: admitted (a slot of the window is used), or how long until a slot frees. */
  tryAcquire(limit: GateLimit): Promise<GateResult>
  /**
   * Waits (in process) until admitted or the signal aborts; a window is short, so waiting is
   * cheap. Send the POST right after it resolves: the margin covers only a small delay.
   */
  acquire(limit: GateLimit, signal?: AbortSignal): Promise<{ at: number; waitedMs: number }>
  /** The margin added to every window (ms). */
  marginFor(windowMs: number): number
}

export interface SubmitGateOptions {
  /** Extra ms added to each window; default max(50, 5% of the window). */
  marginMs?: number
}

let counter = 0

export function createSubmitGate(redis: Redis, options: SubmitGateOptions = {}): SubmitGate {
  const marginFor = (windowMs: number) => options.marginMs ?? Math.max(50, Math.ceil(windowMs * 0.05))
  const member = () => `${process.pid}-${Date.now()}-${++counter}-${Math.random().toString(36).slice(2, 8)}`

  const tryAcquire = async ({ target, limit, windowMs }: GateLimit): Promise<GateResult> => {
    const [admitted, waitMs, at] = (await redis.eval(
      GATE_SCRIPT,
      1,
      keys.submitWindow(target),
      limit,
      windowMs + marginFor(windowMs),
      member(),
    )) as [number, number, number]
    return admitted === 1 ? { admitted: true, at } : { admitted: false, waitMs: Math.max(1, waitMs) }
  }

  return {
    marginFor,
    tryAcquire,
    acquire: async (limit, signal) => {
      const started = Date.now()
      const freshMs = marginFor(limit.windowMs) / 2
      for (;;) {
        signal?.throwIfAborted()
        const asked = Date.now()
        const r = await tryAcquire(limit)
        if (r.admitted) {
          if (Date.now() - asked <= freshMs) return { at: r.at, waitedMs: Date.now() - started }
          continue // stale admission: its slot stays used, ask again
        }
        // A little jitter so that waiters of several processes do not all retry in the same ms.
        await sleep(r.waitMs + Math.floor(Math.random() * 5), signal)
      }
    },
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
