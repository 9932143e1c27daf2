import type { ImportRecord } from '@ims-importer/core'
import { afterEach, describe, expect, it } from 'vitest'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody, waitAllFinal } from './helpers/harness.js'

/** This file's own namespace; each test's simulator, intake and worker runtimes are closed after it. */
const f = workerTestFile('submit-waiting', afterEach)

/**
 * From the store alone: while imports waited for a place (from the moment every place was first
 * taken to the last take), how long a freed place stayed free, per release. A place is held from
 * the record's `submitting` entry to its finished_at.
 */
function freeMsPerRelease(records: ImportRecord[], cap: number): { freeMs: number; releases: number } {
  const spans = records.map((r) => {
    const from = r.history.find((h) => h.status === 'submitting')
    if (!from || !r.finished_at) throw new Error(`${r.id}: no submitting entry or no finished_at`)
    return [Date.parse(from.at), Date.parse(r.finished_at)] as const
  })
  const lastTake = Math.max(...spans.map(([a]) => a))
  const events = spans
    .flatMap(([a, b]): [number, number][] => [
      [a, 1],
      [b, -1],
    ])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
  let inFlight = 0
  let fullAt: number | undefined
  let prevAt = 0
  let idle = 0
  let releases = 0
  for (const [at, delta] of events) {
    if (at > lastTake) break
    if (fullAt !== undefined) idle += (cap - inFlight) * (at - prevAt)
    if (fullAt !== undefined && delta < 0) releases++
    inFlight += delta
    prevAt = at
    if (fullAt === undefined && inFlight >= cap) fullAt = at
  }
  return { freeMs: idle / Math.max(1, releases), releases }
}

describe('submissions waiting for an in-flight place', () => {
  it('take a freed place again at once while imports wait, across two worker processes', async () => {
    const cap = 3
    // A full cap pauses the submit queue for 2 s: a freed place left to that path would stay
    // free for about a second on average.
    const { t, intake } = await f.simRuntime(
      'reuse',
      { maxInFlight: cap, submitRate: 50, sim: { initMs: 50, jobDurationMs: { min: 150, max: 350 } } },
      { submit: { inflightWaitMs: 2_000 } },
      2,
    )
    const ids: string[] = []
    for (let i = 0; i < 36; i++) ids.push(await intake.create(t.target.name, systemBody(i)))
    const records = await waitAllFinal(intake, ids, 60_000)
    expect(records.filter((r) => r.status !== 'succeeded').map((r) => r.error)).toEqual([])
    const counters = t.sim.control.counters()
    expect(counters.peakConcurrentImports).toBeLessThanOrEqual(cap)
    expect(counters.totalCreates).toBe(ids.length)
    const { freeMs, releases } = freeMsPerRelease(records, cap)
    expect(releases).toBeGreaterThan(20)
    // Typically a few ms; generous for a loaded machine, far below the 2 s pause.
    expect(freeMs).toBeLessThan(300)
  }, 90_000)

  it('do not starve imports that hold every place and await their resubmission', async () => {
    const cap = 2
    const { t, intake } = await f.simRuntime('holders', {
      maxInFlight: cap,
      submitRate: 50,
      sim: { faults: { errorRate: 1, operations: ['quickImport'] } },
    })
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push(await intake.create(t.target.name, systemBody(i)))
    // Every POST fails for a while: the first imports take both places and wait to retry, while
    // the others fill the waiting line and the queue.
    await new Promise((r) => setTimeout(r, 1_500))
    t.sim.control.setFaults({})
    // Well inside the longest in-process wait (30 s): the holders' jobs got a worker slot.
    const records = await waitAllFinal(intake, ids, 20_000)
    expect(records.filter((r) => r.status !== 'succeeded').map((r) => r.error)).toEqual([])
    const counters = t.sim.control.counters()
    expect(counters.peakConcurrentImports).toBeLessThanOrEqual(cap)
    expect(Object.values(counters.createsByMarker).every((n) => n === 1)).toBe(true)
    expect(records.some((r) => r.attempts.submit > 1)).toBe(true)
  }, 60_000)
})
