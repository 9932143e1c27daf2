import { setImmediate as nextTurn } from 'node:timers/promises'
import { runScript } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { isImsError } from '@ims-importer/ims-client'
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createImsClients } from '../src/ims-clients.js'
import { createWorkerMetrics } from '../src/metrics.js'
import {
  answeredMargin,
  createSubmitGate,
  GATE_SCRIPT,
  marginBounds,
  type SubmitGate,
  wideningAt,
  wideningPolicy,
  widenOnThrottle,
} from '../src/submit-gate.js'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody } from './helpers/harness.js'
import { maxInSlidingWindow } from './helpers/windows.js'

/** This file's own namespace, and Redis clients closed after it. */
const { ns, redis: client, simTarget } = workerTestFile('submit-gate')

describe('submit gate', () => {
  it('never admits more than the limit in any sliding window, across clients under concurrency', async () => {
    const target = uniqueName('gate')
    const limit = { target, limit: 8, windowMs: 400 }
    const gates = [client(), client(), client(), client()].map((r) => createSubmitGate(r, ns))
    const total = 64
    const admitted: number[] = []
    let next = 0
    // 4 processes x 6 concurrent loops race for 64 admissions.
    await Promise.all(
      gates.flatMap((gate) =>
        Array.from({ length: 6 }, async () => {
          while (next < total) {
            next++
            const { at } = await gate.acquire(limit)
            admitted.push(at)
          }
        }),
      ),
    )
    expect(admitted.length).toBeGreaterThanOrEqual(total)
    // Never above the limit, and the whole budget is used (some window holds exactly the limit).
    expect(maxInSlidingWindow(admitted, limit.windowMs)).toBe(limit.limit)
    // Close to the limit: measured on Redis time, the run takes about as many windows as it
    // must (each window plus the safety margin), not many more.
    const windowWithMargin = limit.windowMs + (gates[0] as SubmitGate).marginFor(limit.windowMs)
    const span = Math.max(...admitted) - Math.min(...admitted)
    const minimumSpan = (Math.ceil(admitted.length / limit.limit) - 1) * windowWithMargin
    expect(span).toBeGreaterThanOrEqual(minimumSpan - 2)
    expect(span).toBeLessThan(minimumSpan * 1.5)
  })

  it('says how long to wait when closed, and separates targets', async () => {
    const gate = createSubmitGate(client(), ns, { marginMs: 0 })
    const a = { target: uniqueName('gate-a'), limit: 2, windowMs: 10_000 }
    const b = { target: uniqueName('gate-b'), limit: 2, windowMs: 10_000 }
    expect((await gate.tryAcquire(a)).admitted).toBe(true)
    expect((await gate.tryAcquire(a)).admitted).toBe(true)
    const closed = await gate.tryAcquire(a)
    expect(closed.admitted).toBe(false)
    if (!closed.admitted) {
      expect(closed.waitMs).toBeGreaterThan(9_000)
      expect(closed.waitMs).toBeLessThanOrEqual(10_000)
    }
    expect((await gate.tryAcquire(b)).admitted).toBe(true)
  })
})

/** Blocks this event loop (a stand-in for a busy or descheduled worker). */
function busyWait(ms: number) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // spin
  }
}

/**
 * A client whose next `lateReplies` script calls have their reply read late: the command is written and
 * run at once, then this event loop is blocked, so the reply sits in the socket (a real Redis,
 * only the timing of our side is changed).
 */
async function lateClient(lateReplies: number, lateMs: number) {
  const c = client()
  // The gate runs its script by EVALSHA: run once first (a throwaway window on the gate's node,
  // also on a cluster), so every later call runs it with no NOSCRIPT retry.
  await runScript(c, GATE_SCRIPT, [ns.submitWindow(uniqueName('gate-warm'))], [1, 1000, 'warm'])
  let late = lateReplies
  let evals = 0
  const original = c.evalsha.bind(c)
  c.evalsha = ((...args: Parameters<Redis['evalsha']>) => {
    evals++
    const reply = original(...args)
    if (late-- > 0) busyWait(lateMs)
    return reply
  }) as Redis['evalsha']
  return { client: c, evals: () => evals }
}

describe('submit gate: slots, waiting and margin', () => {
  it('re-stamps an admission whose reply came back late instead of wasting its slot', async () => {
    const { client: c } = await lateClient(1, 60)
    const gate = createSubmitGate(c, ns, { marginMs: 30 })
    // One slot per 10 s: a wasted slot would make this acquire wait 10 s.
    const limit = { target: uniqueName('gate-late'), limit: 1, windowMs: 10_000 }
    const started = Date.now()
    const r = await gate.acquire(limit)
    expect(r.restamped).toBeGreaterThanOrEqual(1)
    expect(Date.now() - started).toBeLessThan(5_000)
    // Still one entry: the late admission's own slot, now carrying the newer stamp.
    const log = await c.zrange(ns.submitWindow(limit.target), 0, -1, 'WITHSCORES')
    expect(log.length).toBe(2)
    expect(Math.floor(Number(log[1]))).toBe(r.at)
    expect((await gate.tryAcquire(limit)).admitted).toBe(false)
  })

  it('a re-stamp keeps the slot of a full window and moves its stamp, a new member does not get in', async () => {
    const gate = createSubmitGate(client(), ns, { marginMs: 0 })
    const limit = { target: uniqueName('gate-restamp'), limit: 2, windowMs: 10_000 }
    const member = uniqueName('m')
    const first = await gate.tryAcquire(limit, member)
    expect(first.admitted).toBe(true)
    await new Promise((r) => setTimeout(r, 20))
    expect((await gate.tryAcquire(limit)).admitted).toBe(true)
    const again = await gate.tryAcquire(limit, member)
    expect(again.admitted).toBe(true)
    if (first.admitted && again.admitted) expect(again.at).toBeGreaterThan(first.at)
    expect((await gate.tryAcquire(limit)).admitted).toBe(false)
    expect(await client().zcard(ns.submitWindow(limit.target))).toBe(2)
  })

  it('admits the callers of one process in the order they asked, and one abort leaves the line', async () => {
    const gate = createSubmitGate(client(), ns, { marginMs: 20 })
    const limit = { target: uniqueName('gate-fifo'), limit: 2, windowMs: 300 }
    const order: number[] = []
    const stamps: number[] = []
    const aborter = new AbortController()
    const calls = Array.from({ length: 8 }, (_, i) =>
      gate.acquire(limit, i === 5 ? aborter.signal : undefined).then(({ at }) => {
        order.push(i)
        stamps.push(at)
      }),
    )
    aborter.abort(new Error('cancelled'))
    const settled = await Promise.allSettled(calls)
    expect(settled.filter((s) => s.status === 'rejected').length).toBe(1)
    expect(settled[5]?.status).toBe('rejected')
    expect(order).toEqual([0, 1, 2, 3, 4, 6, 7])
    expect(maxInSlidingWindow(stamps, limit.windowMs + 20)).toBeLessThanOrEqual(limit.limit)
  })

  it('only the first waiter of a process asks Redis: a few evals per admission, not one per waiter per slot', async () => {
    const { client: c, evals } = await lateClient(0, 0)
    const gate = createSubmitGate(c, ns, { marginMs: 20 })
    const limit = { target: uniqueName('gate-herd'), limit: 3, windowMs: 200 }
    const n = 15
    const stamps = (await Promise.all(Array.from({ length: n }, () => gate.acquire(limit)))).map((r) => r.at)
    expect(maxInSlidingWindow(stamps, limit.windowMs + 20)).toBe(limit.limit)
    // Each admission: an eval that finds the window closed, then one that is admitted (plus a
    // re-stamp now and then on a busy host). Waking every waiter for every slot would take ~n^2/2.
    expect(evals()).toBeLessThanOrEqual(3 * n)
  })

  it('adapts the margin between its bounds: the ceiling while nothing is measured, never below the floor', async () => {
    expect(marginBounds(1000)).toEqual({ min: 50, max: 100 })
    expect(marginBounds(60_000)).toEqual({ min: 3000, max: 6000 })
    const gate = createSubmitGate(client(), ns)
    const limit = { target: uniqueName('gate-adapt'), limit: 50, windowMs: 1000 }
    expect(gate.marginFor(limit.windowMs)).toBe(50)
    const first = await gate.acquire(limit)
    expect(first.marginMs).toBe(100)
    // After one period of (window + ceiling) quick round trips bring the margin down (to the
    // floor, unless a round trip above 16 ms was seen in the last period: a busy host).
    const margins: number[] = []
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && !margins.some((m) => m < 100)) {
      await new Promise((r) => setTimeout(r, 100))
      margins.push((await gate.acquire(limit)).marginMs)
    }
    for (const m of margins) {
      expect(m).toBeGreaterThanOrEqual(50)
      expect(m).toBeLessThanOrEqual(100)
    }
    expect(Math.min(...margins)).toBeLessThan(100)
  })
})

describe('margin widening after a 429 (pure policy)', () => {
  const p = wideningPolicy(1000)

  it('is sized from the window: a step of the margin floor, four steps at most, half-life ten windows', () => {
    expect(p).toEqual({ stepMs: 50, capMs: 200, settleMs: 2000, halfLifeMs: 10_000 })
    expect(wideningPolicy(60_000)).toMatchObject({ stepMs: 3000, capMs: 12_000, halfLifeMs: 600_000 })
  })

  it('widens by a step, doubles what is left on a later 429, never past the cap', () => {
    const first = widenOnThrottle(null, 1000, p)
    expect(first).toEqual({ ms: 50, at: 1000 })
    const second = widenOnThrottle(first, 1000 + p.settleMs, p)
    expect(second?.ms).toBe(Math.ceil(2 * wideningAt(first, 1000 + p.settleMs, p.halfLifeMs)))
    let w = second
    for (let i = 2; i <= 6; i++) w = widenOnThrottle(w, 1000 + i * p.settleMs, p) ?? w
    expect(w?.ms).toBe(p.capMs)
  })

  it('leaves the widening alone for a 429 within the settle time of the last one (the same overlap)', () => {
    const w = { ms: 50, at: 1000 }
    expect(widenOnThrottle(w, 1000 + p.settleMs - 1, p)).toBeNull()
  })

  it('time narrows it back: half per half-life, gone below 1 ms; a long-decayed one restarts at a step', () => {
    const w = { ms: 200, at: 0 }
    expect(wideningAt(w, 0, p.halfLifeMs)).toBe(200)
    expect(wideningAt(w, p.halfLifeMs, p.halfLifeMs)).toBeCloseTo(100, 6)
    expect(wideningAt(w, 3 * p.halfLifeMs, p.halfLifeMs)).toBeCloseTo(25, 6)
    expect(wideningAt(w, 8 * p.halfLifeMs, p.halfLifeMs)).toBe(0)
    expect(wideningAt(null, 5, p.halfLifeMs)).toBe(0)
    expect(widenOnThrottle(w, 8 * p.halfLifeMs, p)).toEqual({ ms: p.stepMs, at: 8 * p.halfLifeMs })
  })
})

describe("submit gate: a 429 widens every worker's margin, the stamp follows the answer", () => {
  const W = 1000
  const wideningKey = (target: string) => `${ns.submitWindow(target)}:widening`
  const redisNow = async (c: Redis) => {
    const [s, us] = await c.time()
    return Number(s) * 1000 + Math.floor(Number(us) / 1000)
  }

  it('the gate script decays a widening on Redis time as wideningAt does', async () => {
    const c = client()
    const gate = createSubmitGate(c, ns)
    const limit = { target: uniqueName('gate-decay'), limit: 5, windowMs: W }
    const { halfLifeMs } = wideningPolicy(W)
    const at = (await redisNow(c)) - halfLifeMs
    await c.hset(wideningKey(limit.target), 'ms', 160, 'at', at)
    const admitted = await gate.acquire(limit)
    // The first period of a target uses the ceiling; the widening comes on top.
    const expected = wideningAt({ ms: 160, at }, admitted.at, halfLifeMs)
    expect(expected).toBeCloseTo(80, 0)
    expect(admitted.marginMs - marginBounds(W).max).toBeGreaterThanOrEqual(Math.floor(expected) - 1)
    expect(admitted.marginMs - marginBounds(W).max).toBeLessThanOrEqual(Math.floor(expected))
  })

  it('a 429 from the gateway (real simulator) widens the margin of every worker; a fixed margin stays fixed', async () => {
    const t = await simTarget('gate-429', { submitRate: 5, submitWindowMs: W })
    const limit = { target: t.target.name, limit: 5, windowMs: W }
    const [gate1, gate2] = [createSubmitGate(client(), ns), createSubmitGate(client(), ns)] as const
    const fixedGate = createSubmitGate(client(), ns, { marginMs: 30 })
    const ims = createImsClients([t.target], createWorkerMetrics({ defaultMetrics: false }), gate1)
    try {
      const before = await gate2.acquire(limit)
      t.sim.control.setFaults({ throttleRate: 1, operations: ['quickImport'] })
      const err = await ims
        .get(t.target.name)
        .quickImport(systemBody(1))
        .catch((e: unknown) => e)
      expect(isImsError(err) && err.status === 429 && err.code === 'APIG.0308').toBe(true)
      const step = wideningPolicy(W).stepMs
      // The other worker's next admission carries the widening (Redis, not this process).
      const after = await gate2.acquire(limit)
      expect(after.marginMs).toBeGreaterThanOrEqual(before.marginMs - 1 + step - 1)
      expect(after.marginMs - step).toBeGreaterThanOrEqual(marginBounds(W).min)
      // A second 429 at once is the same overlap: no further widening.
      await ims
        .get(t.target.name)
        .quickImport(systemBody(2))
        .catch(() => undefined)
      expect(Number(await client().hget(wideningKey(limit.target), 'ms'))).toBe(step)
      expect((await fixedGate.acquire(limit)).marginMs).toBe(30)
      expect(t.sim.control.requestLog('quickImport').map((e) => e.status)).toEqual([429, 429])
    } finally {
      t.sim.control.setFaults({})
      await ims.close()
    }
  })

  it('a held admission is stamped after its POST was answered (after IMS counted it), with the small margin', async () => {
    const t = await simTarget('gate-answer', { submitRate: 1, submitWindowMs: W })
    const limit = { target: t.target.name, limit: 1, windowMs: W }
    const gate = createSubmitGate(client(), ns)
    const ims = createImsClients([t.target], createWorkerMetrics({ defaultMetrics: false }), gate)
    try {
      t.sim.control.setFaults({ latencyMs: 300, operations: ['quickImport'] })
      const post = async () => {
        const admission = await gate.acquire(limit, undefined, { untilSent: true })
        // As the submit processor does: the POST, then sent() one turn later.
        const posting = ims.get(t.target.name).quickImport(systemBody(3))
        const stamped = nextTurn().then(() => admission.sent())
        await posting
        return { admission, stamp: await stamped, answeredAt: Date.now() }
      }
      const first = await post()
      const counted = t.sim.control.requestLog('quickImport')[0]?.at ?? Number.NaN
      expect(first.stamp).toBeGreaterThanOrEqual(counted + 300 - 5)
      expect(first.stamp).toBeGreaterThanOrEqual(first.admission.at + 300)
      // At the answer as this process saw it (Redis time, same host clock), not a round trip later.
      expect(first.stamp).toBeLessThanOrEqual(first.answeredAt + 2)
      // The second POST (one slot per window) waits for a window after the stamp, not the admission.
      const second = await post()
      expect(second.admission.at).toBeGreaterThanOrEqual(first.stamp + W)
      expect(second.admission.marginMs).toBe(answeredMargin(W))
      const arrivals = t.sim.control.requestLog('quickImport').map((e) => e.at)
      expect(maxInSlidingWindow(arrivals, W)).toBe(1)
    } finally {
      t.sim.control.setFaults({})
      await ims.close()
    }
  })

  it('a held slot stays counted while its POST is unanswered, beyond its first hold (renewed)', async () => {
    const gate = createSubmitGate(client(), ns, { marginMs: 10 })
    const limit = { target: uniqueName('gate-renew'), limit: 1, windowMs: 200 }
    const admission = await gate.acquire(limit, undefined, { untilSent: true })
    const answered = gate.trackPost(limit.target)
    await new Promise((r) => setTimeout(r, 1000))
    const stamping = admission.sent()
    // The first hold is 5 s; renewed every third of it until the answer, still counted after 7 s.
    await new Promise((r) => setTimeout(r, 6000))
    expect((await gate.tryAcquire(limit)).admitted).toBe(false)
    answered()
    const stamp = await stamping
    expect(stamp).toBeGreaterThanOrEqual(admission.at + 7000)
    await new Promise((r) => setTimeout(r, limit.windowMs + 20))
    expect((await gate.tryAcquire(limit)).admitted).toBe(true)
  }, 15_000)

  it('a held slot given up before its POST (cancel) leaves the window at once and is not renewed', async () => {
    const gate = createSubmitGate(client(), ns, { marginMs: 10 })
    const limit = { target: uniqueName('gate-cancel'), limit: 1, windowMs: 200 }
    const abandoned = await gate.acquire(limit, undefined, { untilSent: true })
    expect((await gate.tryAcquire(limit)).admitted).toBe(false)
    await abandoned.cancel()
    // No POST used it: the next caller is admitted within the same window, and no renewal of the
    // abandoned slot comes back to fill it (renewals run every third of the 5 s hold).
    const next = await gate.acquire(limit, undefined, { untilSent: true })
    expect(next.at - abandoned.at).toBeLessThan(limit.windowMs)
    await next.sent()
    await new Promise((r) => setTimeout(r, 2000 + limit.windowMs))
    expect((await gate.tryAcquire(limit)).admitted).toBe(true)
  }, 15_000)
})
