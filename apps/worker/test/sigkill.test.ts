import { testKeys } from '@ims-importer/core/testing'
import { afterAll, describe, expect, inject, it } from 'vitest'
import {
  createIntake,
  FAST_ENV,
  type Intake,
  type ServiceProcess,
  type SimTarget,
  spawnWorker,
  startSimTarget,
  systemBody,
  waitAllFinal,
  waitUntil,
  writeTargetsFile,
} from './helpers/harness.js'

/** This file's own namespace: keys, queues and channels no other test file sees. */
const ns = testKeys('sigkill')

// A worker process killed with SIGKILL in the middle of a run: a new worker finishes every
// import, and IMS never sees a second create for one (crashes between the POST and recording
// the job id are found again by the marker tag).
describe('SIGKILL of a worker mid-run', () => {
  let t: SimTarget
  let intake: Intake
  const workers: ServiceProcess[] = []
  let targetsFile: { path: string; remove(): void }

  afterAll(async () => {
    for (const w of workers) await w.kill('SIGKILL')
    await intake?.close()
    await t?.sim.close()
    targetsFile?.remove()
  })

  it('a new worker finishes every import with no duplicate create', async () => {
    t = await startSimTarget('kill', {
      submitRate: 20,
      maxInFlight: 10,
      // Slow POST answers widen the window between POST and recording the job id.
      sim: { jobDurationMs: { min: 300, max: 800 }, faults: { latencyMs: 150, operations: ['quickImport'] } },
    })
    intake = createIntake(inject('redisUrl'), ns)
    targetsFile = writeTargetsFile([t.target])
    const env = {
      ...FAST_ENV,
      REDIS_URL: inject('redisUrl'),
      IMS_TARGETS_FILE: targetsFile.path,
      SUBMIT_GATE_MARGIN_MS: '150',
      // A dead worker's jobs are taken over once their lock expires.
      JOB_LOCK_DURATION_MS: '3000',
      STALLED_INTERVAL_MS: '1000',
    }
    workers.push(await spawnWorker(env, { namespace: ns }))

    const ids: string[] = []
    for (let i = 0; i < 60; i++) ids.push(await intake.create(t.target.name, systemBody(i)))
    await waitUntil(
      'a third of the imports created in IMS',
      async () => t.sim.control.counters().totalCreates >= 20,
      30_000,
    )
    await workers[0]?.kill('SIGKILL')
    const killedAt = await intake.records(ids)
    expect(killedAt.some((r) => r.status !== 'succeeded' && r.status !== 'failed')).toBe(true)

    workers.push(
      await spawnWorker({ ...env, RECONCILE_ENABLED: 'true', RECONCILE_EVERY_MS: '2000' }, { namespace: ns }),
    )
    const records = await waitAllFinal(intake, ids, 60_000)

    expect(records.filter((r) => r.status !== 'succeeded').map((r) => [r.id, r.status, r.error])).toEqual([])
    const counters = t.sim.control.counters()
    for (const id of ids) expect(counters.createsByMarker[id], id).toBe(1)
    expect(counters.totalCreates).toBe(ids.length)
    expect(counters.peakConcurrentImports).toBeLessThanOrEqual(t.target.limits.maxInFlight)
  }, 110_000)
})
