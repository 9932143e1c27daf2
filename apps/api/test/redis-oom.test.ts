import { createRedis } from '@ims-importer/core'
import { startRedisServer, type TestRedis } from '@ims-importer/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

/*
 * A private redis-server with noeviction, full: every write answers "OOM command not allowed".
 * Issue 16: compose runs Redis with noeviction; a full Redis must give 503 problem+json with a
 * clear reason on every route, never a 500.
 */
let redis: TestRedis
let api: TestApi
let admin: ReturnType<typeof createRedis>
let importId: string
let batchId: string

beforeAll(async () => {
  redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] })
  api = await startTestApi(redis.url)
  admin = createRedis(redis.url, { connectionName: 'oom-test-admin' })
  // Something to read while full.
  const one = await api.post('/v1/imports', api.tenants[0], PAGE_EXAMPLE)
  importId = (one.json() as { id: string }).id
  const batch = await api.post('/v1/batches', api.tenants[0], { items: [PAGE_EXAMPLE] })
  batchId = (batch.json() as { id: string }).id
  // Full: any limit below what Redis uses refuses every write.
  await admin.config('SET', 'maxmemory', '1mb')
  await admin.set('ballast', 'x'.repeat(2 * 1024 * 1024)).catch(() => {})
  await expect(admin.set('probe', '1')).rejects.toThrow(/OOM command not allowed/)
})
afterAll(async () => {
  await api?.close()
  admin?.disconnect()
  await redis?.stop()
})

const isStoreFull = (res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }) => {
  expect(res.statusCode).toBe(503)
  expect(String(res.headers['content-type'])).toContain('application/problem+json')
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
  const body = res.json() as { status: number; detail: string }
  expect(body.status).toBe(503)
  expect(body.detail).toMatch(/out of memory/)
}

describe('Redis out of memory (maxmemory, noeviction)', () => {
  it('POST /v1/imports answers 503 with the reason', async () => {
    isStoreFull(await api.post('/v1/imports', api.tenants[0], PAGE_EXAMPLE))
    isStoreFull(await api.post('/v1/imports', api.tenants[0], PAGE_EXAMPLE, { 'idempotency-key': 'oom-1' }))
  })

  it('POST /v1/batches answers 503 with the reason', async () => {
    isStoreFull(await api.post('/v1/batches', api.tenants[0], { items: [PAGE_EXAMPLE, PAGE_EXAMPLE] }))
  })

  it('reads, listings and cancel answer 503 with the reason (their rate limit is a write)', async () => {
    const h = api.auth(api.tenants[0])
    for (const [method, url] of [
      ['GET', `/v1/imports/${importId}`],
      ['GET', '/v1/imports'],
      ['GET', `/v1/batches/${batchId}`],
      ['POST', `/v1/imports/${importId}/cancel`],
    ] as const)
      isStoreFull(await api.app.inject({ method, url, headers: h }))
  })

  it('a wrong key still gets 401 (the failed-auth counter cannot be written), health and metrics answer', async () => {
    const res = await api.app.inject({
      method: 'GET',
      url: '/v1/imports',
      headers: { authorization: 'Bearer nope' },
    })
    expect(res.statusCode).toBe(401)
    expect((await api.app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200)
    const metrics = await api.app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.statusCode).toBe(200)
    const used = Number(/^ims_importer_redis_memory_used_bytes(?:{[^}]*})? (\d+)$/m.exec(metrics.body)?.[1])
    const max = Number(/^ims_importer_redis_memory_max_bytes(?:{[^}]*})? (\d+)$/m.exec(metrics.body)?.[1])
    expect(max).toBe(1024 * 1024)
    expect(used).toBeGreaterThan(max * 0.8)
  })
})
