import { testKeys, uniqueName } from '@ims-importer/core/testing'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLES } from '../../../packages/core/test/fixtures/invalid-bodies.js'
import { startTestApi, type TestApi } from '../../src/input/test-api.js'

/** This file's own Redis namespace: files run side by side on one Redis. */
const ns = testKeys('rate-limit')

/*
 * Per-key rate limit: 429 with a truthful Retry-After once a key has used its budget; other keys
 * (of the same tenant or another) keep theirs; callers without a valid key cannot spend anyone's.
 */
const PER_MINUTE = 60 // one request per second, bursts of 60
const EXAMPLE = PAGE_EXAMPLES[0]?.body as Record<string, unknown>

let api: TestApi
const A = uniqueName('ra')
const B = uniqueName('rb')
const key = { a1: `a1-${A}`, a2: `a2-${A}`, b: `b-${B}` }
const bearer = (k: string) => ({ authorization: `Bearer ${k}` })

beforeAll(async () => {
  api = await startTestApi(inject('redisUrl'), ns, {
    tenants: [A, B],
    apiKeys: `${A}:${key.a1},${A}:${key.a2},${B}:${key.b}`,
    // 100 wrong keys from this address below: the failed-auth throttle (its own test:
    // apps/api/test/http-hygiene.test.ts) is set out of reach so that they meet the key check.
    config: {
      rateLimitPerMinute: PER_MINUTE,
      logLevel: 'warn',
      authThrottle: { maxFailures: 1_000_000, windowMs: 60_000 },
    },
  })
})
afterAll(async () => {
  for (const t of api?.targets ?? []) await api.deps.queues.submit(t).obliterate({ force: true })
  await api?.close()
})

const get = (k: string) => api.app.inject({ url: '/v1/imports', headers: bearer(k) })

describe('per-key rate limit', () => {
  it('answers 429 with Retry-After per key, and lets the key in again after Retry-After', async () => {
    // Callers without a valid key are refused before the limiter: they cannot spend a key's budget.
    for (let i = 0; i < 100; i++) {
      const res = await api.app.inject({ url: '/v1/imports', headers: bearer(`${key.a1}-wrong`) })
      expect(res.statusCode).toBe(401)
    }
    const codes: number[] = []
    for (let i = 0; i < PER_MINUTE; i++) codes.push((await get(key.a1)).statusCode)
    expect(
      codes.every((c) => c === 200),
      codes.join(','),
    ).toBe(true)

    const limited = await get(key.a1)
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['content-type']).toContain('application/problem+json')
    expect(limited.json()).toMatchObject({ status: 429, type: expect.stringContaining('rate_limited') })
    const retryAfter = limited.headers['retry-after']
    expect(retryAfter).toMatch(/^\d+$/)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(retryAfter)).toBeLessThanOrEqual(2)

    // Every route behind the key is limited, POSTs included, and nothing is accepted.
    const post = await api.app.inject({
      method: 'POST',
      url: '/v1/imports',
      headers: bearer(key.a1),
      payload: EXAMPLE,
    })
    expect(post.statusCode).toBe(429)
    expect(post.headers['retry-after']).toMatch(/^\d+$/)
    const batch = await api.app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: bearer(key.a1),
      payload: { items: [EXAMPLE] },
    })
    expect(batch.statusCode).toBe(429)
    const page = await api.app.inject({ url: '/v1/imports', headers: bearer(key.a2) })
    expect(page.json().items).toEqual([])

    // Another key of the same tenant and another tenant's key have their own budgets.
    expect((await get(key.a2)).statusCode).toBe(200)
    expect((await get(key.b)).statusCode).toBe(200)
    // Public routes are not limited; a wrong key is still 401, not 429.
    expect((await api.app.inject({ url: '/livez' })).statusCode).toBe(200)
    expect((await api.app.inject({ url: '/v1/imports', headers: bearer('nope') })).statusCode).toBe(401)

    // Retry-After tells the truth: after it, the key is let in again (one request's worth).
    await new Promise((r) => setTimeout(r, Number(retryAfter) * 1000 + 100))
    expect((await get(key.a1)).statusCode).toBe(200)
    // ...and only about that: within three more requests it is limited again.
    const after = [
      (await get(key.a1)).statusCode,
      (await get(key.a1)).statusCode,
      (await get(key.a1)).statusCode,
    ]
    expect(after).toContain(429)
  })
})
