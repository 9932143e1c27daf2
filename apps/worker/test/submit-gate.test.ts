import { uniqueName } from '@ims-importer/core/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createSubmitGate, type SubmitGate } from '../src/submit-gate.js'
import { maxInSlidingWindow } from './helpers/windows.js'

const clients: Redis[] = []
const client = () => {
  const c = new Redis(inject('redisUrl'))
  clients.push(c)
  return c
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()))
})

describe('submit gate', () => {
  it('never admits more than the limit in any sliding window, across clients under concurrency', async () => {
    const target = uniqueName('gate')
    const limit = { target, limit: 8, windowMs: 400 }
    const gates = [client(), client(), client(), client()].map((r) => createSubmitGate(r))
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
    const gate = createSubmitGate(client(), { marginMs: 0 })
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
