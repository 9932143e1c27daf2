import { describe, expect, it } from 'vitest'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody, waitAllFinal, waitUntil } from './helpers/harness.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('sigkill')

// A worker process killed with SIGKILL in the middle of a run: a new worker finishes every
// import, and IMS never sees a second create for one (crashes between the POST and recording
// the job id are found again by the marker tag).
describe('SIGKILL of a worker mid-run', () => {
  it('a new worker finishes every import with no duplicate create', async () => {
    const t = await f.simTarget('kill', {
      submitRate: 20,
      maxInFlight: 10,
      // Slow POST answers widen the window between POST and recording the job id.
      sim: { jobDurationMs: { min: 300, max: 800 }, faults: { latencyMs: 150, operations: ['quickImport'] } },
    })
    const intake = f.intake()
    const env = {
      SUBMIT_GATE_MARGIN_MS: '150',
      // A dead worker's jobs are taken over once their lock expires.
      JOB_LOCK_DURATION_MS: '3000',
      STALLED_INTERVAL_MS: '1000',
    }
    const first = await f.spawnWorker([t.target], env)

    const ids: string[] = []
    for (let i = 0; i < 60; i++) ids.push(await intake.create(t.target.name, systemBody(i)))
    await waitUntil(
      'a third of the imports created in IMS',
      async () => t.sim.control.counters().totalCreates >= 20,
      30_000,
    )
    await first.kill('SIGKILL')
    const killedAt = await intake.records(ids)
    expect(killedAt.some((r) => r.status !== 'succeeded' && r.status !== 'failed')).toBe(true)

    await f.spawnWorker([t.target], { ...env, RECONCILE_ENABLED: 'true', RECONCILE_EVERY_MS: '2000' })
    const records = await waitAllFinal(intake, ids, 60_000)

    expect(records.filter((r) => r.status !== 'succeeded').map((r) => [r.id, r.status, r.error])).toEqual([])
    const counters = t.sim.control.counters()
    for (const id of ids) expect(counters.createsByMarker[id], id).toBe(1)
    expect(counters.totalCreates).toBe(ids.length)
    expect(counters.peakConcurrentImports).toBeLessThanOrEqual(t.target.limits.maxInFlight)
  }, 110_000)
})
