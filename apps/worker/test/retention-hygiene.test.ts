import { isFinal } from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import { loadWorkerConfig } from '../src/config.js'
import { startWorker } from '../src/index.js'
import { parseAdminKeys } from '../src/metrics-auth.js'
import { workerTestFile } from './helpers/fixtures.js'
import { silentLog, systemBody, testConfig, waitAllFinal } from './helpers/harness.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('retention-hygiene')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('retention sweep in the reconciler (issue 16: Redis grows without bound)', () => {
  it('an import past RETENTION is gone from its record and every index after the reconciler ran', async () => {
    const RETENTION_MS = 400
    const { t, intake, runtime } = await f.simRuntime(
      'ret',
      { sim: { jobDurationMs: { min: 200, max: 200 } } },
      { retentionMs: RETENTION_MS },
    )
    const target = t.target.name
    const id = await intake.create(target, systemBody(1), { external_id: 'ext-ret' })
    const [done] = await waitAllFinal(intake, [id], 20_000)
    expect(done && isFinal(done.status)).toBe(true)
    const k = intake.store.keys
    const tenant = done?.tenant as string
    expect(await intake.redis.pttl(k.import(id))).toBeGreaterThan(0)
    await sleep(RETENTION_MS + 150)
    const report = await runtime.reconcileOnce()
    expect(report.expired).toBeGreaterThanOrEqual(1)
    expect(await intake.redis.exists(k.import(id))).toBe(0)
    const indexes = [
      k.tenantImports(tenant),
      k.tenantTargetImports(tenant, target),
      k.tenantExternalImports(tenant, 'ext-ret'),
      ...['queued', 'submitting', 'submitted', 'running', 'succeeded', 'failed', 'cancelled'].flatMap((s) => [
        k.statusImports(s),
        k.tenantStatusImports(tenant, s),
      ]),
    ]
    for (const index of indexes) expect(await intake.redis.zscore(index, id), index).toBeNull()
    expect((await intake.redis.zrange(k.retention, 0, -1)).filter((m) => m.includes(id))).toEqual([])
  })
})

describe('worker health server (issue 16: /metrics on 0.0.0.0 without auth)', () => {
  it('binds 127.0.0.1 unless WORKER_HOST says otherwise', () => {
    expect(loadWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:1' }).host).toBe('127.0.0.1')
    expect(loadWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:1', WORKER_HOST: '0.0.0.0' }).host).toBe(
      '0.0.0.0',
    )
    expect(() => loadWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:1', METRICS_AUTH: 'true' })).toThrow(
      /ADMIN_API_KEYS/,
    )
  })

  it('with METRICS_AUTH, /metrics answers 401 without an admin key and 200 with one; /readyz stays open', async () => {
    const t = await f.simTarget('metrics-auth')
    const worker = f.closeLater(
      await startWorker(
        testConfig(f.redisUrl, f.ns, [t.target], {
          metricsKeys: parseAdminKeys(
            'ops:worker-admin-key-1,ops2:sha256:' +
              '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8',
          ),
        }),
        { log: silentLog(), defaultMetrics: false },
      ),
      (w) => w.close(),
    )
    expect(worker.url).toMatch(/^http:\/\/127\.0\.0\.1:/)
    const get = (headers: Record<string, string> = {}) => fetch(`${worker.url}/metrics`, { headers })
    const none = await get()
    expect(none.status).toBe(401)
    expect(await none.text()).not.toContain('ims_importer')
    expect((await get({ authorization: 'Bearer wrong-key' })).status).toBe(401)
    const ok = await get({ authorization: 'Bearer worker-admin-key-1' })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('ims_importer_inflight_cap')
    // sha256 of "password": the hashed form works as on the API.
    expect((await get({ authorization: 'Bearer password' })).status).toBe(200)
    expect((await fetch(`${worker.url}/readyz`)).status).toBe(200)
  })
})
