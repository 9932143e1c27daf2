import { type Keys, loadLua, type Redis, runScript } from '@ims-importer/core'

// The submit gate: at most `limit` quick-import POSTs per target in ANY sliding window of
// `windowMs`, across every worker process: a sliding-window log in Redis, stamped with Redis time,
// each window enforced a small margin longer. A process's callers for a target queue FIFO and only
// the first asks Redis. Why a sliding log, why the stamps hold, and the margin: docs/submit-gate.md

export const GATE_SCRIPT = loadLua(new URL('./lua/', import.meta.url), 'submit-gate')
const SENT_SCRIPT = loadLua(new URL('./lua/', import.meta.url), 'submit-gate-sent')

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
  acquire(limit: GateLimit, signal?: AbortSignal, options?: { untilSent?: boolean }): Promise<Admission>
  /** The least margin (ms) any admission adds to a window of windowMs: the floor, or the fixed one. */
  marginFor(windowMs: number): number
}

export interface Admission {
  /** Redis time of the admission (ms). */
  at: number
  waitedMs: number
  /** Times a late reply made it stamp its slot again. */
  restamped: number
  marginMs: number
  /**
   * With `untilSent`, the slot is held (counted, never trimmed) for up to a window until this is
   * called right after the POST is written, and stamped then; otherwise a no-op. Returns the stamp.
   */
  sent(): Promise<number>
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

/** The submit gates of one namespace (`keys.submitWindow(target)`). */
export function createSubmitGate(redis: Redis, keys: Keys, options: SubmitGateOptions = {}): SubmitGate {
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

  const ask = async (gl: GateLimit, marginMs: number, member: string, holdMs = 0) => {
    const { target, limit, windowMs } = gl
    const asked = Date.now()
    const [admitted, waitMs, at] = (await runScript(
      redis,
      GATE_SCRIPT,
      [keys.submitWindow(target)],
      [limit, windowMs + marginMs, member, holdMs],
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
    acquire: (limit, signal, acquireOptions = {}) => {
      const started = Date.now()
      const held = acquireOptions.untilSent === true
      return inTurn(limit.target, signal, async (): Promise<Admission> => {
        const member = newMember()
        let restamped = 0
        for (;;) {
          signal?.throwIfAborted()
          const marginMs = marginNow(limit)
          const windowMs = limit.windowMs + marginMs
          const { result, rttMs } = await ask(limit, marginMs, member, held ? windowMs : 0)
          if (result.admitted) {
            // A held slot is stamped when its POST is out, so the reply's delay does not matter;
            // margin 0 (explicitly configured) has nothing to keep that delay within.
            if (held || marginMs === 0 || rttMs <= marginMs / MARGIN_PER_ROUND_TRIP) {
              const at = result.at
              const sent = held
                ? async () =>
                    Number(
                      await runScript(
                        redis,
                        SENT_SCRIPT,
                        [keys.submitWindow(limit.target)],
                        [member, windowMs],
                      ),
                    )
                : async () => at
              return { at, waitedMs: Date.now() - started, restamped, marginMs, sent }
            }
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
