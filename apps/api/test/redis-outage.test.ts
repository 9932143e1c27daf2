import { startRedisServer, type TestRedis } from '@ims-importer/core/testing'
import { Redis } from 'ioredis'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

/*
 * A private redis-server this file can kill and restart, with one app over it listening on a
 * real port. Proves: while Redis is away, POST answers 503 problem within a second (no hanging,
 * no offline queue) and /readyz fails; both recover by themselves when Redis is back.
 */
let redis: TestRedis
let api: TestApi
let base: string

beforeAll(async () => {
  redis = await startRedisServer()
  api = await startTestApi(redis.url)
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})
afterAll(async () => {
  await api?.close()
  await redis?.stop()
})

const postImport = async (tenant: string, key?: string) => {
  const started = performance.now()
  const res = await request(`${base}/v1/imports`, {
    method: 'POST',
    headers: {
      ...api.auth(tenant),
      'content-type': 'application/json',
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: JSON.stringify(PAGE_EXAMPLE),
  })
  const body = (await res.body.json()) as Record<string, unknown>
  return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started }
}
const readyz = async () => {
  const res = await request(`${base}/readyz`)
  await res.body.dump()
  return res.statusCode
}
const waitFor = async (check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

describe('Redis outage', () => {
  it('answers 503 within a second while Redis is down, and recovers without a restart', async () => {
    const [A] = api.tenants
    const before = await postImport(A)
    expect(before.status).toBe(202)
    expect(await readyz()).toBe(200)

    await redis.kill?.()
    for (const key of [undefined, 'outage-key']) {
      const during = await postImport(A, key)
      expect(during.status).toBe(503)
      expect(during.headers['content-type']).toContain('application/problem+json')
      expect(during.headers['retry-after']).toBe('1')
      expect(during.body).toMatchObject({ status: 503, type: expect.stringContaining('unavailable') })
      // The contract: a 503 problem within one second, not a hang.
      expect(during.ms).toBeLessThan(1000)
    }
    const get = await request(`${base}/v1/imports/${before.body.id}`, { headers: api.auth(A) })
    expect(get.statusCode).toBe(503)
    await get.body.dump()
    const readyStarted = performance.now()
    expect(await readyz()).toBe(503)
    expect(performance.now() - readyStarted).toBeLessThan(1000)
    expect((await request(`${base}/livez`)).statusCode).toBe(200)

    await redis.restart?.()
    expect(await waitFor(async () => (await readyz()) === 200, 10_000)).toBe(true)
    const after = await postImport(A, 'outage-key')
    expect(after.status).toBe(202)
    expect(after.headers['idempotent-replayed']).toBeUndefined()
    // The data written before the outage is still there (same server, restarted on its directory or not):
    // what matters here is that the API itself needed no restart.
    const own = await request(`${base}/v1/imports/${after.body.id}`, { headers: api.auth(A) })
    expect(own.statusCode).toBe(200)
    await own.body.dump()
    const metrics = await api.deps.metrics.registry.getSingleMetricAsString(
      'ims_importer_imports_rejected_total',
    )
    expect(metrics).toMatch(/reason="unavailable"[^\n]* 2/)
  })

  it('a record write that lands after its 503 is removed: nothing is accepted, and the retry makes one import', async () => {
    const [, B] = api.tenants
    const list = async () => {
      const res = await request(`${base}/v1/imports`, { headers: api.auth(B as string) })
      return ((await res.body.json()) as { items: { id: string }[] }).items
    }
    const before = (await list()).length
    // Redis holds every write for longer than the API's Redis budget: the admission times out
    // in the API, then runs in Redis once the pause ends.
    const admin = new Redis(redis.url)
    try {
      await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE')
      const late = await postImport(B as string, 'late-write-key')
      expect(late.status).toBe(503)
      expect(late.body).toMatchObject({ status: 503, type: expect.stringContaining('unavailable') })
      // The write and then its removal ran, in that order, once Redis let writes through.
      await new Promise((r) => setTimeout(r, 1500))
      expect(await list()).toHaveLength(before)
      const retry = await postImport(B as string, 'late-write-key')
      expect(retry.status).toBe(202)
      expect(retry.headers['idempotent-replayed']).toBeUndefined()
      expect(await list()).toHaveLength(before + 1)
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => {})
      admin.disconnect()
    }
  })
})
