import { beforeAll, describe, expect, it } from 'vitest'
import { createInflight } from '../src/inflight.js'
import { type SpawnedSimTarget, workerTestFile } from './helpers/fixtures.js'
import { type Intake, type ServiceProcess, systemBody, waitAllFinal } from './helpers/harness.js'
import { fullestWindow, maxInSlidingWindow } from './helpers/windows.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('e2e-two')

// 300 imports over two targets with different limits, through a 429 storm and a 30% 5xx phase
// on target A. Each target has its own simulator (own project, counters and caps), whose gateway
// enforces the same sliding-window limit as the target, as IMS would. The worker and each
// simulator run as their own processes, as deployed: IMS stamps each POST's arrival on an event
// loop that neither the worker's nor this test's work holds up.
describe('end to end: two targets, 300 imports, faults', () => {
  let a: SpawnedSimTarget
  let b: SpawnedSimTarget
  let intake: Intake
  let worker: ServiceProcess
  const FAILING = new Set([7, 77, 133])

  beforeAll(async () => {
    ;[a, b] = await Promise.all([
      f.spawnedSimTarget('e2e-a', {
        submitRate: 25,
        submitWindowMs: 1000,
        maxInFlight: 12,
        simEnv: { SIM_RATE_QUICK_IMPORT: '25/1000' },
      }),
      f.spawnedSimTarget('e2e-b', {
        submitRate: 10,
        submitWindowMs: 1000,
        maxInFlight: 7,
        simEnv: { SIM_RATE_QUICK_IMPORT: '10/1000' },
      }),
    ])
    intake = f.intake()
    worker = await f.spawnWorker([a.target, b.target])
  })

  it('brings every import to its final state, one create each, within caps and rate limits', async () => {
    const idsA: string[] = []
    const idsB: string[] = []
    for (let i = 0; i < 150; i++) {
      const body = FAILING.has(i) ? systemBody(i, `disks/fail-img-0057-${i}.zvhd2`) : systemBody(i)
      idsA.push(await intake.create(a.target.name, body))
      idsB.push(await intake.create(b.target.name, systemBody(1000 + i)))
    }

    // Faults on target A while the run is under way: a 429 storm, then a 30% 5xx phase.
    await new Promise((r) => setTimeout(r, 500))
    await a.sim.control.setFaults({ throttleRate: 1 })
    await new Promise((r) => setTimeout(r, 1500))
    await a.sim.control.setFaults({ errorRate: 0.3 })
    await new Promise((r) => setTimeout(r, 3000))
    await a.sim.control.setFaults({})

    const records = await waitAllFinal(intake, [...idsA, ...idsB], 60_000)

    const failed = records.filter((r) => r.status === 'failed')
    expect(failed.map((r) => r.id).sort()).toEqual([...FAILING].map((i) => idsA[i]).sort())
    for (const r of failed) {
      expect(r.error).toMatchObject({ source: 'ims', code: 'IMG.0057' })
      expect(r.ims.error_code).toBe('IMG.0057')
      expect(r.ims.fail_reason).toBeTruthy()
    }
    const succeeded = records.filter((r) => r.status === 'succeeded')
    expect(succeeded).toHaveLength(300 - FAILING.size)
    for (const r of succeeded) expect(r.ims.image_id).toBeTruthy()

    for (const [t, ids] of [
      [a, idsA],
      [b, idsB],
    ] as const) {
      const counters = await t.sim.control.counters()
      // Exactly one create per import, and nothing else created.
      for (const id of ids) expect(counters.createsByMarker[id], id).toBe(1)
      expect(counters.totalCreates).toBe(ids.length)
      // Never more imports at once in IMS than the target's cap.
      expect(counters.peakConcurrentImports).toBeLessThanOrEqual(t.target.limits.maxInFlight)
      // The submit rate holds in every sliding window (all POSTs, throttled ones included).
      const posts = (await t.sim.control.requestLog('quickImport')).map((e) => e.at)
      expect(
        maxInSlidingWindow(posts, t.target.limits.submitWindowMs),
        `fullest window: ${fullestWindow(posts, t.target.limits.submitWindowMs).join(',')}`,
      ).toBeLessThanOrEqual(t.target.limits.submitRate)
    }
    // B had no injected faults: its gateway (same limit as ours) never had to say 429.
    expect((await b.sim.control.counters()).responses.quickImport?.['429'] ?? 0).toBe(0)
    // The faults really happened on A (on submits, polls or both, as the timing fell).
    const respA = (await a.sim.control.counters()).responses
    const answered = (status: string) =>
      Object.values(respA).reduce((sum, byStatus) => sum + (byStatus[status] ?? 0), 0)
    expect(answered('429')).toBeGreaterThan(0)
    expect(answered('500') + answered('503')).toBeGreaterThan(0)

    // In-flight places all given back; the worker's metrics saw the run.
    const inflight = createInflight(f.redis(), f.ns)
    expect(await inflight.count(a.target.name)).toBe(0)
    expect(await inflight.count(b.target.name)).toBe(0)
    const metrics = await (await fetch(`${worker.url}/metrics`)).text()
    expect(metrics).toMatch(
      new RegExp(
        `ims_importer_imports_final_total\\{[^}]*target="${a.target.name}"[^}]*result="failed"[^}]*error_code="IMG.0057"[^}]*\\} 3`,
      ),
    )
    expect(metrics).toContain('ims_importer_throttle_events_total')
  }, 90_000)
})
