import { createHash } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { canonicalIterative, canonicalJson, requestHash } from '../src/idempotency.js'
import { PAGE_EXAMPLE, startTestApi, useTestApi } from './helpers.js'

const api = useTestApi()
const [A, B] = api.tenants

const post = (tenant: string, body: unknown, key?: string) =>
  api.post('/v1/imports', tenant, body, key ? { 'idempotency-key': key } : {})

const tenantImports = async (tenant: string) => (await api.deps.store.list({ tenant, limit: 500 })).items

describe('Idempotency-Key on POST /v1/imports', () => {
  it('replays the original answer for the same key and body: no second record, no second job', async () => {
    const target = api.targets[1]
    const body = { ...PAGE_EXAMPLE, target, external_id: 'idem-1' }
    const first = await post(A, body, 'key-replay')
    expect(first.statusCode).toBe(202)
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    // The same body with its keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse())
    const second = await post(A, reordered, 'key-replay')
    expect(second.statusCode).toBe(202)
    expect(second.headers['idempotent-replayed']).toBe('true')
    expect(second.headers.location).toBe(first.headers.location)
    expect(second.json()).toEqual(first.json())
    const mine = (await tenantImports(A)).filter((r) => r.external_id === 'idem-1')
    expect(mine).toHaveLength(1)
    expect(await api.submitJobs(target)).toBe(1)
  })

  it('replays the first answer byte for byte after the import moved on; 409 once it is gone', async () => {
    const body = { ...PAGE_EXAMPLE, external_id: 'idem-moved', callback_url: 'https://hooks.example.com/x' }
    const first = await post(A, body, 'key-moved')
    expect(first.statusCode).toBe(202)
    const id = first.json().id as string
    await api.deps.store.transition(id, 'cancelled', {}, { reason: 'moved on for the test' })
    expect((await api.deps.store.get(id))?.status).toBe('cancelled')
    const again = await post(A, body, 'key-moved')
    expect(again.statusCode).toBe(202)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.body).toBe(first.body)
    // The import removed (its request failed after the write and is being undone): retry later.
    await api.deps.store.remove(id)
    const gone = await post(A, body, 'key-moved')
    expect(gone.statusCode).toBe(409)
    expect(gone.headers['retry-after']).toBe('1')
  })

  it('answers 422 for the same key with a different body, and creates nothing', async () => {
    const first = await post(A, { ...PAGE_EXAMPLE, external_id: 'idem-2' }, 'key-mismatch')
    expect(first.statusCode).toBe(202)
    const before = (await tenantImports(A)).length
    const other = await post(A, { ...PAGE_EXAMPLE, external_id: 'idem-2', min_disk: 41 }, 'key-mismatch')
    expect(other.statusCode).toBe(422)
    expect(other.headers['content-type']).toContain('application/problem+json')
    expect(other.json()).toMatchObject({ status: 422, type: expect.stringContaining('idempotency_mismatch') })
    expect((await tenantImports(A)).length).toBe(before)
  })

  it('answers 409 while the first request with the key is still being handled', async () => {
    // A request in flight holds the key's in-progress claim; take that claim the same way.
    const body = { ...PAGE_EXAMPLE, external_id: 'idem-3' }
    const claimed = await api.deps.redis.eval(
      "redis.call('HSET', KEYS[1], 'state', 'in_progress', 'hash', ARGV[1]); return redis.call('PEXPIRE', KEYS[1], 60000)",
      1,
      api.deps.keys.idempotency(A, createHash('sha256').update('key-busy').digest('hex')),
      requestHash('POST /v1/imports', body),
    )
    expect(claimed).toBe(1)
    const res = await post(A, body, 'key-busy')
    expect(res.statusCode).toBe(409)
    expect(res.json()).toMatchObject({
      status: 409,
      type: expect.stringContaining('idempotency_in_progress'),
    })
    expect(res.headers['retry-after']).toBe('1')
  })

  it('20 concurrent identical requests make exactly one record and one submit job', async () => {
    const fresh = await startTestApi(inject('redisUrl'))
    try {
      const [T] = fresh.tenants
      const target = fresh.targets[0]
      const body = { ...PAGE_EXAMPLE, external_id: 'burst' }
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          fresh.post('/v1/imports', T, body, { 'idempotency-key': 'burst-key' }),
        ),
      )
      const codes = answers.map((a) => a.statusCode)
      // Each answer is the original 202, a replay of it, or 409 while the first was still in flight.
      expect(codes.every((c) => c === 202 || c === 409)).toBe(true)
      const accepted = answers.filter((a) => a.statusCode === 202)
      const originals = accepted.filter((a) => a.headers['idempotent-replayed'] === undefined)
      expect(originals).toHaveLength(1)
      const id = originals[0]?.json().id
      for (const a of accepted) expect(a.json().id).toBe(id)

      const records = (await fresh.deps.store.list({ tenant: T, limit: 500 })).items
      expect(records.map((r) => r.id)).toEqual([id])
      expect(await fresh.submitJobs(target)).toBe(1)
      expect(await fresh.hasSubmitJob(target, id)).toBe(true)

      // After the burst, the same request replays.
      const later = await fresh.post('/v1/imports', T, body, { 'idempotency-key': 'burst-key' })
      expect(later.statusCode).toBe(202)
      expect(later.headers['idempotent-replayed']).toBe('true')
      expect(later.json().id).toBe(id)
      expect(await fresh.submitJobs(target)).toBe(1)
    } finally {
      await fresh.close()
    }
  })

  it('scopes keys per tenant and keeps them at least 24 hours', async () => {
    const body = { ...PAGE_EXAMPLE, external_id: 'shared-key' }
    const a = await post(A, body, 'same-key')
    const b = await post(B, body, 'same-key')
    expect(a.statusCode).toBe(202)
    expect(b.statusCode).toBe(202)
    expect(b.headers['idempotent-replayed']).toBeUndefined()
    expect(a.json().id).not.toBe(b.json().id)
    const ttl = await api.deps.redis.pttl(
      api.deps.keys.idempotency(A, createHash('sha256').update('same-key').digest('hex')),
    )
    expect(ttl).toBeGreaterThanOrEqual(24 * 3600_000)
  })

  it('does not store anything for an invalid body, and rejects a malformed key', async () => {
    const bad = await post(A, { ...PAGE_EXAMPLE, min_disk: 0 }, 'key-invalid')
    expect(bad.statusCode).toBe(400)
    const good = await post(A, { ...PAGE_EXAMPLE, external_id: 'after-invalid' }, 'key-invalid')
    expect(good.statusCode).toBe(202)
    const long = await post(A, PAGE_EXAMPLE, 'k'.repeat(256))
    expect(long.statusCode).toBe(400)
    expect(long.json().detail).toContain('Idempotency-Key')
  })

  it('counts replays in ims_importer_idempotent_replays_total', async () => {
    const text = await api.deps.metrics.registry.getSingleMetricAsString(
      'ims_importer_idempotent_replays_total',
    )
    expect(text).toMatch(/ims_importer_idempotent_replays_total\{[^}]*\} [1-9]/)
  })
})

describe('canonicalJson (the text an Idempotency-Key body hash is taken of)', () => {
  it('writes the same text on its fast path and its iterative walk, whatever the key order', () => {
    let seed = 7
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const gen = (depth: number): unknown => {
      const r = rnd()
      if (depth > 5 || r < 0.3)
        return [null, true, false, 0, -1.5, 1e21, 'a', 'ü"\\\n', ''][Math.floor(rnd() * 9)]
      if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(depth + 1))
      const o: Record<string, unknown> = {}
      for (let i = Math.floor(rnd() * 5); i > 0; i--)
        o[['b', 'a', 'é', 'A', '10', '2', 'z z'][Math.floor(rnd() * 7)] as string] = gen(depth + 1)
      return o
    }
    for (let i = 0; i < 500; i++) {
      const v = gen(0)
      expect(canonicalJson(v)).toBe(canonicalIterative(v))
      expect(JSON.parse(canonicalJson(v))).toEqual(v)
    }
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2}]},"b":1}',
    )
    expect(requestHash('r', { a: 1, b: 2 })).toBe(requestHash('r', { b: 2, a: 1 }))
    expect(requestHash('r', { a: 1 })).not.toBe(requestHash('s', { a: 1 }))
  })

  it('hashes bodies nested far deeper than the call stack allows', () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 100_000; i++) deep = i % 2 === 0 ? [deep] : { k: deep }
    const text = canonicalJson({ items: [deep] })
    expect(text.length).toBeGreaterThan(200_000)
    expect(text).toBe(canonicalIterative({ items: [deep] }))
  })
})
