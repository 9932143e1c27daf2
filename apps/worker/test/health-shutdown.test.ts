import { describe, expect, it } from 'vitest'
import { startWorker } from '../src/index.js'
import { workerTestFile } from './helpers/fixtures.js'
import { silentLog, systemBody, testConfig, waitUntil } from './helpers/harness.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('health')

describe('health server and graceful shutdown', () => {
  it('serves /livez, /readyz and /metrics, then drains the active job on close', async () => {
    // Slow POST answers: the submit job is still active when the worker is asked to stop.
    const t = await f.simTarget('health', {
      sim: { faults: { latencyMs: 1200, operations: ['quickImport'] } },
    })
    const intake = f.intake()
    const worker = f.closeLater(
      await startWorker(testConfig(f.redisUrl, f.ns, [t.target]), {
        log: silentLog(),
        defaultMetrics: false,
      }),
      (w) => w.close(),
    )

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
    const t = await f.simTarget('health-sigterm')
    const child = await f.spawnWorker([t.target])
    expect(await child.kill('SIGTERM')).toBe(0)
  })
})
