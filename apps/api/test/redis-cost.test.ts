import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

/*
 * Issue 16: "A 4 MB batch of 999 items whose target is 3,900 characters stores each error with
 * the whole string, in the batch record and again in the Idempotency-Key answer: 8.2 MiB of
 * Redis per request." Echoed input is cut to a short prefix and a batch's rejected items are
 * stored once per distinct error: such a request must cost under 64 KB of Redis.
 */
let api: TestApi
beforeAll(async () => {
  api = await startTestApi(inject('redisUrl'))
})
afterAll(async () => {
  await api?.close()
})

/** Sum of MEMORY USAGE over every key of the app's namespace, by key. */
async function memoryByKey(): Promise<Map<string, number>> {
  const { redis, keys } = api.deps
  const out = new Map<string, number>()
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.prefix}*`, 'COUNT', 1000)
    cursor = next
    for (const k of found) out.set(k, Number((await redis.memory('USAGE', k, 'SAMPLES', '0')) ?? 0))
  } while (cursor !== '0')
  return out
}

/** Bytes of the keys a request wrote: new keys whole, grown keys by their growth. */
function written(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0
  for (const [k, bytes] of after) total += Math.max(0, bytes - (before.get(k) ?? 0))
  return total
}

describe('Redis cost of a hostile batch', () => {
  it('a 4 MB batch of 999 items with a 3,900-character target costs under 64 KB of Redis', async () => {
    const tenant = api.tenants[0]
    const long = 'x'.repeat(3900)
    const items = [
      PAGE_EXAMPLE,
      ...Array.from({ length: 999 }, (_, i) => ({ ...PAGE_EXAMPLE, name: `img-${i}`, target: long })),
    ]
    const body = JSON.stringify({ items })
    expect(body.length).toBeGreaterThan(3.9 * 1024 * 1024)
    expect(body.length).toBeLessThanOrEqual(4 * 1024 * 1024)
    // Warm-up: the queue's own keys exist before the measured request.
    await api.post('/v1/batches', tenant, { items: [PAGE_EXAMPLE] })
    const before = await memoryByKey()
    const res = await api.post('/v1/batches', tenant, body, {
      'content-type': 'application/json',
      'idempotency-key': 'hostile-batch-1',
    })
    expect(res.statusCode).toBe(202)
    const answer = res.json() as {
      id: string
      accepted: number
      rejected: number
      errors: { errors: { message: string }[] }[]
    }
    expect(answer).toMatchObject({ accepted: 1, rejected: 999 })
    // The echo is a short prefix, in the answer too.
    for (const e of answer.errors) for (const f of e.errors) expect(f.message.length).toBeLessThan(300)
    const bytes = written(before, await memoryByKey())
    console.log(`hostile batch: ${bytes} bytes of Redis written`)
    expect(bytes).toBeLessThan(64 * 1024)

    // What was stored still answers as before: the replay and the batch view give every error.
    const replay = await api.post('/v1/batches', tenant, body, {
      'content-type': 'application/json',
      'idempotency-key': 'hostile-batch-1',
    })
    expect(replay.statusCode).toBe(202)
    expect(replay.headers['idempotent-replayed']).toBe('true')
    expect(replay.json()).toEqual(answer)
    const view = await api.app.inject({
      method: 'GET',
      url: `/v1/batches/${answer.id}`,
      headers: api.auth(tenant),
    })
    expect(view.statusCode).toBe(200)
    expect((view.json() as { rejected: unknown[] }).rejected).toEqual(answer.errors)
  })

  it('a batch whose 999 refused items differ each in their echoed target stays bounded too', async () => {
    const tenant = api.tenants[1]
    const items = [
      PAGE_EXAMPLE,
      ...Array.from({ length: 999 }, (_, i) => ({
        ...PAGE_EXAMPLE,
        target: `${String(i).padStart(4, '0')}${'y'.repeat(3896)}`,
      })),
    ]
    const before = await memoryByKey()
    const res = await api.post('/v1/batches', tenant, JSON.stringify({ items }), {
      'content-type': 'application/json',
      'idempotency-key': 'hostile-batch-2',
    })
    expect(res.statusCode).toBe(202)
    const bytes = written(before, await memoryByKey())
    console.log(`hostile batch, distinct errors: ${bytes} bytes of Redis written`)
    expect(bytes).toBeLessThan(64 * 1024)
    // The first answer has every error; what is stored keeps the first ones, the rest generically.
    const first = res.json() as { id: string; errors: { index: number; errors: { message: string }[] }[] }
    expect(first.errors).toHaveLength(999)
    const view = await api.app.inject({
      method: 'GET',
      url: `/v1/batches/${first.id}`,
      headers: api.auth(tenant),
    })
    const rejected = (view.json() as { rejected: { index: number; errors: { message: string }[] }[] })
      .rejected
    expect(rejected.map((r) => r.index)).toEqual(first.errors.map((e) => e.index))
    expect(rejected[0]).toEqual(first.errors[0])
    expect(rejected.at(-1)?.errors[0]?.message).toMatch(/not kept/)
  })
})
