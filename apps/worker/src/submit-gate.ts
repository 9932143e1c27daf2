import { type Keys, loadLua, type Redis, runScript } from '@ims-importer/core'

// The submit gate: at most `limit` quick-import POSTs per target in ANY sliding window of
// `windowMs`, across every worker process: a sliding-window log in Redis, stamped with Redis time,
// each window enforced a small margin longer. A process's callers for a target queue FIFO and only
// the first asks Redis. Why a sliding log, why the stamps hold, and the margin: docs/submit-gate.md

export const GATE_SCRIPT = loadLua(new URL('./lua/', import.meta.url), 'submit-gate')
const SENT_SCRIPT = loadLua(new URL('./lua/', import.meta.url), 'submit-gate-sent')
const WIDEN_SCRIPT = loadLua(new URL('./lua/', import.meta.url), 'submit-gate-widen')

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
  /**
   * Marks a quick-import POST to `target` as started in this process; call the returned function
   * once it has its answer (or has failed). A held admission's `sent()` waits for the POSTs started
   * after it was admitted, so its stamp is at least the time IMS counted the POST.
   */
  trackPost(target: string): () => void
  /**
   * The target's IMS throttled a quick-import POST (429 APIG.0308, IMG.0060): widen its margin for
   * every worker (widenOnThrottle); returns the widening now in force (ms). No-op with a fixed margin.
   */
  throttled(limit: GateLimit): Promise<number>
}

export interface Admission {
  /** Redis time of the admission (ms). */
  at: number
  waitedMs: number
  /** Times a late reply made it stamp its slot again. */
  restamped: number
  /** The margin added to this admission's window (ms), a 429's widening included. */
  marginMs: number
  /**
   * With `untilSent`, the slot is held (counted, never trimmed, its hold renewed) until this is
   * called right after the POST is written; it then waits for the answer of every POST tracked
   * (trackPost) since the admission and stamps the slot. Otherwise a no-op. Returns the stamp.
   */
  sent(): Promise<number>
  /**
   * For a caller that gives up before writing its POST (its job lock lost, an error): a held
   * slot stops being renewed and leaves the log at once, as no POST used it. A no-op for a slot
   * already stamped or not held. Without it, a held slot abandoned this way stays counted for
   * up to MAX_HELD_MS, and enough of them close the gate (seen after a Redis outage).
   */
  cancel(): Promise<void>
}

export interface SubmitGateOptions {
  /** Extra ms added to each window, fixed; default adaptive within `marginBounds`. */
  marginMs?: number
}

/** The adaptive margin's bounds (ms) for a window of windowMs. */
export function marginBounds(windowMs: number): { min: number; max: number } {
  return { min: Math.max(50, Math.ceil(windowMs * 0.05)), max: Math.max(100, Math.ceil(windowMs * 0.1)) }
}

/**
 * The margin of a held admission whose POST's answer is tracked (trackPost): the stamp then
 * follows IMS's count of the POST, so nothing between admission and count needs covering; this
 * is only for a gateway's own clocks and rounding. docs/submit-gate.md, "Stamped at the answer".
 */
export function answeredMargin(windowMs: number): number {
  return Math.max(5, Math.ceil(windowMs * 0.005))
}

/** A target's margin widening after a 429: `ms` set at Redis time `at`, halving every half-life. */
export interface Widening {
  ms: number
  at: number
}

/** How a 429 widens a target's margin and time narrows it back, for a window of windowMs. */
export function wideningPolicy(windowMs: number) {
  const stepMs = marginBounds(windowMs).min
  return {
    /** The first widening, and the least after another 429 (which doubles it). */
    stepMs,
    /** Never wider than this (ms). */
    capMs: 4 * stepMs,
    /** A 429 this soon after the last widening is the same overlap, or its echo: no change. */
    settleMs: 2 * windowMs,
    /** The widening halves in this time (ms); below 1 ms it is gone. */
    halfLifeMs: 10 * windowMs,
  }
}
export type WideningPolicy = ReturnType<typeof wideningPolicy>

/** The widening in force at `now` (ms); submit-gate.lua computes the same on Redis time. */
export function wideningAt(w: Widening | null, now: number, halfLifeMs: number): number {
  if (w === null) return 0
  const ms = w.ms * 0.5 ** (Math.max(0, now - w.at) / halfLifeMs)
  return ms < 1 ? 0 : ms
}

/**
 * After a 429 at `now`: the widening to set (double what is left, at least a step, at most the
 * cap), or null to leave it (another 429 within settleMs of the last widening).
 */
export function widenOnThrottle(w: Widening | null, now: number, p: WideningPolicy): Widening | null {
  if (w !== null && now - w.at < p.settleMs) return null
  const left = wideningAt(w, now, p.halfLifeMs)
  return { ms: Math.min(p.capMs, Math.max(p.stepMs, Math.ceil(2 * left))), at: now }
}

/** A held slot's hold (ms, renewed while its POST is unanswered): a dead caller's slot frees after it. */
const MIN_HOLD_MS = 5_000
/** A held slot is renewed for this long at most: its caller may have failed before the POST, never to call sent(). */
const MAX_HELD_MS = 120_000

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
  const fixed = options.marginMs !== undefined
  /** Per target: quick-import POSTs of this process not answered yet, by sequence number; each
   * resolves with the time (performance.now) its answer or failure was in. */
  const posts = new Map<string, Map<number, Promise<number>>>()
  let postSeq = 0
  const postsOf = (target: string) => {
    let p = posts.get(target)
    if (!p) {
      p = new Map()
      posts.set(target, p)
    }
    return p
  }
  /** Targets whose POSTs are tracked (trackPost called): held admissions are stamped at the answer. */
  const answered = new Set<string>()
  const marginNow = (limit: GateLimit, held: boolean) => {
    if (options.marginMs !== undefined) return options.marginMs
    if (held && answered.has(limit.target)) return answeredMargin(limit.windowMs)
    const { min, max } = marginBounds(limit.windowMs)
    return Math.min(max, Math.max(min, Math.ceil(MARGIN_PER_ROUND_TRIP * rttsOf(limit).get())))
  }
  const newMember = () =>
    `${process.pid}-${Date.now()}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
  const inTurn = turnstile()

  const ask = async (gl: GateLimit, marginMs: number, member: string, holdMs = 0) => {
    const { target, limit, windowMs } = gl
    const asked = Date.now()
    const [admitted, waitMs, at, wideningMs] = (await runScript(
      redis,
      GATE_SCRIPT,
      [keys.submitWindow(target), keys.submitMarginWidening(target)],
      [limit, windowMs + marginMs, member, holdMs, fixed ? 0 : wideningPolicy(windowMs).halfLifeMs],
    )) as [number, number, number, number]
    const rttMs = Date.now() - asked
    if (!fixed) rttsOf(gl).add(rttMs)
    const result: GateResult =
      admitted === 1 ? { admitted: true, at } : { admitted: false, waitMs: Math.max(1, waitMs) }
    return { result, rttMs, wideningMs }
  }

  /**
   * Writes a held slot's score: now + holdMs (a renewal), or the stamp (holdMs 0): Redis time now,
   * or `answeredAt` (performance.now) translated to Redis time, never earlier than it really was.
   */
  const stampHeld = async (
    target: string,
    member: string,
    windowMs: number,
    holdMs: number,
    answeredAt?: number,
  ) => {
    // The script runs after this line: Redis now - age is at or after the answer.
    const ageMs = answeredAt === undefined ? 0 : Math.max(0, Math.floor(performance.now() - answeredAt))
    return Number(
      await runScript(redis, SENT_SCRIPT, [keys.submitWindow(target)], [member, windowMs, holdMs, ageMs]),
    )
  }

  /** Once every POST to `target` tracked after sequence `since` is answered: the last answer's time. */
  const answersSince = async (target: string, since: number): Promise<number | undefined> => {
    const pending = [...postsOf(target)].filter(([seq]) => seq > since).map(([, done]) => done)
    return pending.length === 0 ? undefined : Math.max(...(await Promise.all(pending)))
  }

  /** The held admission's `sent`: keeps its hold renewed until called, then stamps after the answers. */
  const heldSlot = (gl: GateLimit, member: string, windowMs: number) => {
    const since = postSeq
    const holdMs = Math.max(windowMs, MIN_HOLD_MS)
    const started = Date.now()
    const renewal = setInterval(
      () => {
        if (Date.now() - started > MAX_HELD_MS) return clearInterval(renewal)
        stampHeld(gl.target, member, windowMs, holdMs).catch(() => undefined)
      },
      Math.ceil(holdMs / 3),
    )
    renewal.unref()
    let settled = false
    return {
      sent: async () => {
        settled = true
        // Still renewed while the answers are awaited (a slow IMS); none after the stamp is sent:
        // renewals already sent run before it (one connection, in order).
        const answeredAt = await answersSince(gl.target, since)
        clearInterval(renewal)
        return stampHeld(gl.target, member, windowMs, 0, answeredAt)
      },
      cancel: async () => {
        if (settled) return
        settled = true
        clearInterval(renewal)
        await redis.zrem(keys.submitWindow(gl.target), member)
      },
    }
  }

  return {
    marginFor,
    trackPost: (target) => {
      answered.add(target)
      const seq = ++postSeq
      let done!: (at: number) => void
      postsOf(target).set(
        seq,
        new Promise<number>((resolve) => {
          done = resolve
        }),
      )
      return () => {
        postsOf(target).delete(seq)
        done(performance.now())
      }
    },
    throttled: async (limit) => {
      if (fixed) return 0
      const key = keys.submitMarginWidening(limit.target)
      const policy = wideningPolicy(limit.windowMs)
      const [ms, at, now] = (await runScript(redis, WIDEN_SCRIPT, [key], ['', 0])) as [number, number, number]
      const current = ms < 0 ? null : { ms, at }
      const next = widenOnThrottle(current, now, policy)
      if (next === null) return wideningAt(current, now, policy.halfLifeMs)
      // Gone once below 1 ms: log2(ms) half-lives.
      const ttlMs = Math.ceil(policy.halfLifeMs * Math.log2(next.ms + 1)) + 1000
      await runScript(redis, WIDEN_SCRIPT, [key], [next.ms, ttlMs])
      return next.ms
    },
    tryAcquire: async (limit, member) =>
      (await ask(limit, marginNow(limit, false), member ?? newMember())).result,
    acquire: (limit, signal, acquireOptions = {}) => {
      const started = Date.now()
      const held = acquireOptions.untilSent === true
      return inTurn(limit.target, signal, async (): Promise<Admission> => {
        const member = newMember()
        let restamped = 0
        for (;;) {
          signal?.throwIfAborted()
          const marginMs = marginNow(limit, held)
          const windowMs = limit.windowMs + marginMs
          const holdMs = held ? Math.max(windowMs, MIN_HOLD_MS) : 0
          const { result, rttMs, wideningMs } = await ask(limit, marginMs, member, holdMs)
          if (result.admitted) {
            // A held slot is stamped when its POST is out, so the reply's delay does not matter;
            // margin 0 (explicitly configured) has nothing to keep that delay within.
            if (held || marginMs === 0 || rttMs <= marginMs / MARGIN_PER_ROUND_TRIP) {
              const at = result.at
              // The stamp's window carries the widening too (the log's expiry).
              const slot = held
                ? heldSlot(limit, member, windowMs + wideningMs)
                : { sent: async () => at, cancel: async () => undefined }
              return {
                at,
                waitedMs: Date.now() - started,
                restamped,
                marginMs: marginMs + wideningMs,
                ...slot,
              }
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
