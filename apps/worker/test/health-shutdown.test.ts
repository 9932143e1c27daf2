import { testKeys } from '@ims-importer/core/testing'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type StartedWorker, startWorker } from '../src/index.js'
import {
  createIntake,
  FAST_ENV,
  type Intake,
  type SimTarget,
  silentLog,
  spawnWorker,
  startSimTarget,
  systemBody,
  testConfig,
  waitUntil,
  writeTargetsFile,
} from './helpers/harness.js'

/** This file's own namespace: keys, queues and channels no other test file sees. */
const ns = testKeys('health')

describe('health server and graceful shutdown', () => {
  let t: SimTarget
  let intake: Intake
  let worker: StartedWorker
  afterAll(async () => {
    await worker?.close()
    await intake?.close()
    await t?.sim.close()
  })

  it('serves /livez, /readyz and /metrics, then drains the active job on close', async () => {
    // Slow POST answers: the submit job is still active when the worker is asked to stop.
    t = await startSimTarget('health', { sim: { faults: { latencyMs: 1200, operations: ['quickImport'] } } })
    intake = createIntake(inject('redisUrl'), ns)
    worker = await startWorker(testConfig(inject('redisUrl'), ns, [t.target]), {
      log: silentLog(),
      defaultMetrics: false,
    })

    expect((await fetch(`${worker.url}/livez`)).status).toBe(200)
    expect((await fetch(`${worker.url}/readyz`)).status).toBe(200)
    const metrics = await (await fetch(`${worker.url}/metrics`)).text()
    expect(metrics).toMatch(
      new RegExp(`ims_importer_inflight_cap\\{[^}]*target="${t.target.name}"[^}]*\\} 40`),
    )
    expect(metrics).toMatch(
      new RegExp(`ims_importer_queue_jobs\\{[^}]*queue="submit-${t.target.name}"[^}]*state="waiting"`),
    )
    expect(metrics).toContain('ims_importer_ims_request_duration_seconds_bucket')

    const id = await intake.create(t.target.name, systemBody(1))
    await waitUntil(
      'the POST to be under way',
      async () => (await intake.store.get(id))?.status === 'submitting',
      10_000,
      20,
    )
    await worker.close()
    // The active submit finished before the worker stopped: its job id is recorded.
    const record = await intake.store.get(id)
    expect(record?.status).toBe('submitted')
    expect(record?.ims.job_id).toBeTruthy()
    await expect(fetch(`${worker.url}/livez`)).rejects.toThrow()
  })

  it('a worker process exits 0 on SIGTERM', async () => {
    const file = writeTargetsFile([t.target])
    try {
      const child = await spawnWorker(
        {
          ...FAST_ENV,
          REDIS_URL: inject('redisUrl'),
          IMS_TARGETS_FILE: file.path,
        },
        { namespace: ns },
      )
      expect(await child.kill('SIGTERM')).toBe(0)
    } finally {
      file.remove()
    }
  })
})
