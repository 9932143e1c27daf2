import { newId } from '@ims-importer/core'
import { testKeys } from '@ims-importer/core/testing'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLES } from '../../../packages/core/test/fixtures/invalid-bodies.js'
import { startTestApi, type TestApi } from '../../src/input/test-api.js'

/** This file's own Redis namespace: files run side by side on one Redis. */
const ns = testKeys('tenant-isolation')

/*
 * Tenant isolation: another tenant's import, batch or listing is invisible. Tenant B probes
 * everything tenant A owns and sees exactly what it would see for ids that do not exist.
 */
let api: TestApi
const EXAMPLE = PAGE_EXAMPLES[0]?.body as Record<string, unknown>
const DATA_EXAMPLE = PAGE_EXAMPLES[3]?.body as Record<string, unknown>

beforeAll(async () => {
  api = await startTestApi(inject('redisUrl'), ns, { config: { logLevel: 'warn' } })
})
afterAll(async () => {
  for (const t of api?.targets ?? []) await api.deps.queues.submit(t).obliterate({ force: true })
  await api?.close()
})

type Json = Record<string, unknown>

async function call(tenant: string, method: 'GET' | 'POST', url: string, payload?: unknown, headers = {}) {
  const res = await api.app.inject({
    method,
    url,
    headers: { ...api.auth(tenant), ...headers },
    ...(payload === undefined ? {} : { payload: payload as Json }),
  })
  return { status: res.statusCode, body: res.json() as Json, headers: res.headers }
}

/** A problem without what differs between two requests anyway (request id, the id asked for). */
const shape = (body: Json, id: string) => ({
  ...body,
  request_id: undefined,
  detail: String(body.detail).replace(id, '<id>'),
})

describe('tenant isolation', () => {
  it("another tenant's import, batch and listings are invisible (404 / empty)", async () => {
    const [A, B] = api.tenants
    const [t1, t2] = api.targets
    const ext = 'shared-external-id'

    // A's imports: two single ones (two targets) and a batch.
    const single = await call(A, 'POST', '/v1/imports', { ...EXAMPLE, external_id: ext })
    expect(single.status).toBe(202)
    const second = await call(A, 'POST', '/v1/imports', { ...DATA_EXAMPLE, target: t2, external_id: ext })
    expect(second.status).toBe(202)
    const batch = await call(A, 'POST', '/v1/batches', {
      items: [EXAMPLE, DATA_EXAMPLE, {}],
      external_id: ext,
    })
    expect(batch.status).toBe(202)
    const aId = single.body.id as string
    const batchId = batch.body.id as string
    const aIds = new Set([
      aId,
      second.body.id as string,
      ...(batch.body.imports as { id: string }[]).map((i) => i.id),
    ])

    // B: an import of A answers exactly like one that does not exist.
    const missing = newId('imp')
    const probe = await call(B, 'GET', `/v1/imports/${aId}`)
    const none = await call(B, 'GET', `/v1/imports/${missing}`)
    expect(probe.status).toBe(404)
    expect(shape(probe.body, aId)).toEqual(shape(none.body, missing))
    expect(JSON.stringify(probe.body)).not.toContain(A)

    // Cancel: 404, and A's import stays queued.
    const cancel = await call(B, 'POST', `/v1/imports/${aId}/cancel`)
    expect(cancel.status).toBe(404)
    expect(shape(cancel.body, aId)).toEqual(
      shape((await call(B, 'POST', `/v1/imports/${missing}/cancel`)).body, missing),
    )
    expect((await call(A, 'GET', `/v1/imports/${aId}`)).body.status).toBe('queued')

    // A's batch: 404 like a missing one, with or without paging.
    const missingBatch = newId('bat')
    for (const query of ['', '?limit=1', '?cursor=0', '?limit=1000&cursor=1']) {
      const b = await call(B, 'GET', `/v1/batches/${batchId}${query}`)
      expect(b.status, query).toBe(404)
      expect(shape(b.body, batchId)).toEqual(
        shape((await call(B, 'GET', `/v1/batches/${missingBatch}${query}`)).body, missingBatch),
      )
    }
    // ...while A sees it.
    expect((await call(A, 'GET', `/v1/batches/${batchId}`)).status).toBe(200)

    // B's listings, with every filter and with A's own cursors: never one of A's imports.
    const aPage = await call(A, 'GET', '/v1/imports?limit=1')
    const aCursor = aPage.body.next_cursor as string
    expect(aCursor).toEqual(expect.any(String))
    const queries = [
      '',
      '?limit=500',
      '?status=queued',
      `?target=${t1}`,
      `?target=${t2}`,
      `?external_id=${ext}`,
      `?batch_id=${batchId}`,
      `?batch_id=${batchId}&status=queued&target=${t1}&external_id=${ext}&limit=1`,
      `?cursor=${encodeURIComponent(aCursor)}`,
      `?cursor=${encodeURIComponent(aCursor)}&batch_id=${batchId}`,
      `?status=queued&cursor=${encodeURIComponent(aCursor)}`,
    ]
    for (const q of queries) {
      const list = await call(B, 'GET', `/v1/imports${q}`)
      // A cursor that is not B's may be refused (400); an answer lists nothing of A's.
      expect([200, 400], `${q}: ${JSON.stringify(list.body)}`).toContain(list.status)
      if (list.status === 200) {
        const items = list.body.items as { id: string }[]
        expect(
          items.filter((i) => aIds.has(i.id)),
          q,
        ).toEqual([])
        expect(items, q).toEqual([])
      }
    }
    // A, same queries, sees its own (the filters do select something).
    expect(((await call(A, 'GET', `/v1/imports?external_id=${ext}`)).body.items as unknown[]).length).toBe(2)
    expect(((await call(A, 'GET', `/v1/imports?batch_id=${batchId}`)).body.items as unknown[]).length).toBe(2)
  })

  it("an Idempotency-Key is the tenant's own: the same key from another tenant is a new request", async () => {
    const [A, B] = api.tenants
    const key = `iso-${Date.now()}`
    const first = await call(A, 'POST', '/v1/imports', EXAMPLE, { 'idempotency-key': key })
    expect(first.status).toBe(202)
    const sameBody = await call(B, 'POST', '/v1/imports', EXAMPLE, { 'idempotency-key': key })
    expect(sameBody.status).toBe(202)
    expect(sameBody.headers['idempotent-replayed']).toBeUndefined()
    expect(sameBody.body.id).not.toBe(first.body.id)
    const otherBody = await call(B, 'POST', '/v1/imports', DATA_EXAMPLE, { 'idempotency-key': `${key}-2` })
    expect(otherBody.status).toBe(202)
    // A's replay is still A's, and B's import is B's.
    const replay = await call(A, 'POST', '/v1/imports', EXAMPLE, { 'idempotency-key': key })
    expect(replay.headers['idempotent-replayed']).toBe('true')
    expect(replay.body.id).toBe(first.body.id)
    expect((await call(A, 'GET', `/v1/imports/${sameBody.body.id}`)).status).toBe(404)
    // Batches too.
    const batchKey = `${key}-batch`
    const ba = await call(A, 'POST', '/v1/batches', { items: [EXAMPLE] }, { 'idempotency-key': batchKey })
    const bb = await call(B, 'POST', '/v1/batches', { items: [EXAMPLE] }, { 'idempotency-key': batchKey })
    expect([ba.status, bb.status]).toEqual([202, 202])
    expect(bb.body.id).not.toBe(ba.body.id)
    expect((await call(A, 'GET', `/v1/batches/${bb.body.id}`)).status).toBe(404)
  })
})
