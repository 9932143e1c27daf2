import { keys, luaScript, type Redis, runScript } from '@ims-importer/core'

/**
 * The submit gate: at most `limit` quick-import POSTs per target in ANY sliding window of
 * `windowMs`, across every worker process.
 *
 * Why not BullMQ's limiter: it counts fixed windows (a counter with a TTL that starts at the
 * first job), so a burst at the end of one window and another at the start of the next pass
 * 2x the limit through a sliding window (measured: max 10 / 1000 ms let 19 starts into one
 * sliding second). IMS's gateway counts its own windows, whose phase we do not know, so only a
 * limit that holds in every window is safe. This is a sliding-window log: a sorted set of the
 * admission times ("stamps") of the last window, trimmed and checked in one Lua script, so the
 * check and the admission are atomic across processes. Redis `TIME` is the one clock: worker
 * clocks may drift, the server's does not differ between callers. The log holds at most `limit`
 * entries per target, so memory is bounded. (GCRA would need less memory but spaces admissions
 * evenly and so cannot let a small burst through; the log is exact for both.)
 *
 * Why the stamps hold: a stamp is the Redis time at which the script wrote it, so stamp order is
 * write order, and when the latest stamp of any window of `windowMs + margin` was written, all
 * the others of that window were in the log, which then held at most `limit` entries.
 *
 * Safety margin: the gate stamps at Redis time, IMS counts at arrival. With d = arrival - stamp,
 * R+1 arrivals within `windowMs` would need stamps within `windowMs + (dmax - dmin)`, so the
 * margin added to every window must cover the jitter of d (not d itself) between POSTs about one
 * window apart. d is: the script's reply travelling back (plus this event loop), the caller's few
 * synchronous steps to the socket, and the way to IMS and through its front end (here: the
 * simulator's process waiting for a CPU). Two rules cover it:
 * - A reply that took more than a third of the margin to come back (measured as the round trip)
 *   is not used as it is: the same entry is re-stamped to the current Redis time, atomically,
 *   keeping its slot (no slot is wasted), until a reply comes back in time. So the first part of
 *   d stays under margin / 3.
 * - The rest (the caller's event loop before the socket write, IMS's side) the gate cannot see
 *   per POST. Measured in bench limit-precision (2 processes, 2-core host, load 2-3.5, rank-
 *   matched arrival - stamp): up to 14 ms between the gate's answer and the socket write, up to
 *   17 ms from the write to the simulator's stamp, and a needed margin (the largest d of a POST
 *   minus that of the POST one window later) of 14-25 ms, 30 ms once in the first second (new
 *   connections); and 49 ms or more once in the worker's e2e test at load 4.4 (the simulator in
 *   the busy test process). So the margin has a floor of max(50 ms, 5% of the window), and
 *   widens to 3x the largest round trip of this target's last one to two periods of (window +
 *   ceiling), up to max(100 ms, 10% of the window) (`marginBounds`): a slow round trip is the
 *   gate's sample of the host's scheduling delay, and a POST admitted in it has its partner one
 *   window later. For the first such period of a target, and after a quiet spell, the ceiling is
 *   used (warm-up: nothing recent measured, connections still opening). On a quiet host the
 *   floor holds: best rate W / (W + 50 ms) = 0.952 of the limit at W = 1 s. Not covered: a stall
 *   of IMS's side alone (or of the caller between admission and write) longer than the margin
 *   without a slow round trip in the gate;
 *   at much higher load than measured the floor can be too small (set SUBMIT_GATE_MARGIN_MS).
 * An explicit `marginMs` (SUBMIT_GATE_MARGIN_MS) is used as it is, without adapting. Processes
 * adapt each on its own: the limit then holds for the smallest margin in use, which on one host
 * sees the same load.
 *
 * Waiting: in one process the callers for a target queue in FIFO order and only the first asks
 * Redis, sleeping exactly until the oldest stamp leaves the window (no herd of waiters waking
 * together for one slot); across processes the first waiters race for each slot in the script.
 */
export const GATE_SCRIPT = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window) + 1000)
  return {1, 0, math.floor(now)}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
return {0, math.ceil(wait), math.floor(now)}
`)

export interface GateLimit {
  target: string
  /** POSTs allowed in any sliding window of windowMs. */
  limit: number
  windowMs: number
}

export type GateResult = { admitted: true; at: number } | { admitted: false; waitMs: number }

export interface SubmitGate {
  /**
   * One attempt: admitted (a slot of the window is used), or how long until a slot frees.
   * Passing the `member` of an earlier admission still in the log re-stamps it to now (same slot).
   */
  tryAcquire(limit: GateLimit, member?: string): Promise<GateResult>
  /**
   * Waits (in process) until admitted with a reply fresh enough, or the signal aborts; a window
   * is short, so waiting is cheap. Send the POST right after it resolves: the margin covers only
   * a small delay.
   */
  acquire(
    limit: GateLimit,
    signal?: AbortSignal,
  ): Promise<{ at: number; waitedMs: number; restamped: number; marginMs: number }>
  /** The least margin (ms) any admission adds to a window of windowMs: the floor, or the fixed one. */
  marginFor(windowMs: number): number
}

export interface SubmitGateOptions {
  /** Extra ms added to each window, fixed; default adaptive within `marginBounds`. */
  marginMs?: number
}

/** The adaptive margin's bounds (ms) for a window of windowMs. */
export function marginBounds(windowMs: number): { min: number; max: number } {
  return { min: Math.max(50, Math.ceil(windowMs * 0.05)), max: Math.max(100, Math.ceil(windowMs * 0.1)) }
}

/** Margin = this many times the largest recent round trip (one for the reply, two for the rest). */
const MARGIN_PER_ROUND_TRIP = 3
/** The largest value seen in the last one to two buckets; Infinity while it knows none that recent. */
function recentMax(bucketMs: number) {
  let start = Date.now()
  let current = 0
  let previous = Number.POSITIVE_INFINITY
  const roll = () => {
    const now = Date.now()
    if (now - start < bucketMs) return
    // After a quiet spell nothing recent is known: as cautious as at the start.
    previous = now - start < 2 * bucketMs ? current : Number.POSITIVE_INFINITY
    current = 0
    start = now
  }
  return {
    add(v: number) {
      roll()
      if (v > current) current = v
    },
    get() {
      roll()
      return Math.max(current, previous)
    },
  }
}

/** Runs fn when every earlier caller with the same key is done (FIFO); aborting leaves the line. */
function turnstile() {
  const tails = new Map<string, Promise<void>>()
  return async <T>(key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> => {
    const before = tails.get(key) ?? Promise.resolve()
    let done!: () => void
    const mine = new Promise<void>((resolve) => {
      done = resolve
    })
    // The next caller waits for both: leaving early (abort) keeps the order behind `before`.
    const tail = before.then(() => mine)
    tails.set(key, tail)
    try {
      await untilAborted(before, signal)
      return await fn()
    } finally {
      done()
      if (tails.get(key) === tail) tails.delete(key)
    }
  }
}

let counter = 0

export function createSubmitGate(redis: Redis, options: SubmitGateOptions = {}): SubmitGate {
  /** Per target: round trips of the last one to two periods of (window + ceiling). */
  const rtts = new Map<string, ReturnType<typeof recentMax>>()
  const rttsOf = ({ target, windowMs }: GateLimit) => {
    let r = rtts.get(target)
    if (!r) {
      r = recentMax(windowMs + marginBounds(windowMs).max)
      rtts.set(target, r)
    }
    return r
  }
  const marginFor = (windowMs: number) => options.marginMs ?? marginBounds(windowMs).min
  const marginNow = (limit: GateLimit) => {
    if (options.marginMs !== undefined) return options.marginMs
    const { min, max } = marginBounds(limit.windowMs)
    return Math.min(max, Math.max(min, Math.ceil(MARGIN_PER_ROUND_TRIP * rttsOf(limit).get())))
  }
  const newMember = () =>
    `${process.pid}-${Date.now()}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
  const inTurn = turnstile()

  const ask = async (gl: GateLimit, marginMs: number, member: string) => {
    const { target, limit, windowMs } = gl
    const asked = Date.now()
    const [admitted, waitMs, at] = (await runScript(
      redis,
      GATE_SCRIPT,
      [keys.submitWindow(target)],
      [limit, windowMs + marginMs, member],
    )) as [number, number, number]
    const rttMs = Date.now() - asked
    if (options.marginMs === undefined) rttsOf(gl).add(rttMs)
    const result: GateResult =
      admitted === 1 ? { admitted: true, at } : { admitted: false, waitMs: Math.max(1, waitMs) }
    return { result, rttMs }
  }

  return {
    marginFor,
    tryAcquire: async (limit, member) => (await ask(limit, marginNow(limit), member ?? newMember())).result,
    acquire: (limit, signal) => {
      const started = Date.now()
      return inTurn(limit.target, signal, async () => {
        const member = newMember()
        let restamped = 0
        for (;;) {
          signal?.throwIfAborted()
          const marginMs = marginNow(limit)
          const { result, rttMs } = await ask(limit, marginMs, member)
          if (result.admitted) {
            // margin 0 (explicitly configured) has nothing to keep the reply's delay within.
            if (marginMs === 0 || rttMs <= marginMs / MARGIN_PER_ROUND_TRIP)
              return { at: result.at, waitedMs: Date.now() - started, restamped, marginMs }
            // Late reply: the slot stays ours and is stamped again with a newer time.
            restamped++
            continue
          }
          // Closed (or our entry left the window while a reply took longer than a window, and
          // asking again as a new admission found it full): sleep until the oldest stamp leaves.
          await sleep(result.waitMs, signal)
        }
      })
    },
  }
}

function untilAborted(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, reject)
  })
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
