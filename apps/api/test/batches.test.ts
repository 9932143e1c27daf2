import { describe, expect, inject, it } from 'vitest'
import { acceptedBody, DATA_DISK_EXAMPLE, PAGE_EXAMPLE, startTestApi, useTestApi } from './helpers.js'

const api = useTestApi()
const [A, B] = api.tenants

const postBatch = (tenant: string, body: unknown, headers: Record<string, string> = {}) =>
  api.post('/v1/batches', tenant, body, headers)

describe('POST /v1/batches', () => {
  it('accepts the valid items, lists the invalid ones by index, and queues one job per accepted item', async () => {
    const target = api.targets[1]
    const items = [
      { ...PAGE_EXAMPLE, target, external_id: 'b-0' },
      { ...PAGE_EXAMPLE, name: '' },
      { ...DATA_DISK_EXAMPLE, target, external_id: 'b-2' },
      { ...PAGE_EXAMPLE, target: 'unknown-target' },
      { ...PAGE_EXAMPLE, target, external_id: 'b-4' },
    ]
    const res = await postBatch(A, { items, external_id: 'batch-1' })
    const body = acceptedBody(res, '/v1/batches')
    expect(body).toMatchObject({
      id: expect.stringMatching(/^bat_/),
      external_id: 'batch-1',
      accepted: 3,
      rejected: 2,
    })
    expect(body.imports.map((i: { index: number }) => i.index)).toEqual([0, 2, 4])
    expect(body.errors.map((e: { index: number }) => e.index)).toEqual([1, 3])
    expect(body.errors[0].errors[0]).toMatchObject({ path: 'items[1].name', ims_code: 'IMG.0013' })
    expect(body.errors[1].errors[0]).toMatchObject({ path: 'items[3].target' })
    expect(await api.submitJobs(target)).toBe(3)
    for (const i of body.imports) {
      const record = await api.deps.store.get(i.id)
      expect(record).toMatchObject({ batch_id: body.id, tenant: A, status: 'queued' })
    }
  })

  it('shows counts by state and the items, paged, only to its tenant', async () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ ...PAGE_EXAMPLE, external_id: `p-${i}` }))
    const created = (await postBatch(A, { items })).json()
    const first = created.imports[0].id
    await api.deps.store.transition(first, 'cancelled')

    const page1 = await api.app.inject({ url: `/v1/batches/${created.id}?limit=4`, headers: api.auth(A) })
    expect(page1.statusCode).toBe(200)
    const p1 = page1.json()
    expect(p1.counts).toMatchObject({ queued: 6, cancelled: 1, succeeded: 0 })
    expect(p1.accepted).toBe(7)
    expect(p1.items.map((i: { index: number }) => i.index)).toEqual([0, 1, 2, 3])
    expect(p1.items[0]).toMatchObject({ id: first, status: 'cancelled', external_id: 'p-0', image_id: null })
    expect(p1.next_cursor).toBe('3')
    const page2 = (
      await api.app.inject({
        url: `/v1/batches/${created.id}?limit=4&cursor=${p1.next_cursor}`,
        headers: api.auth(A),
      })
    ).json()
    expect(page2.items.map((i: { index: number }) => i.index)).toEqual([4, 5, 6])
    expect(page2.next_cursor).toBeNull()

    const other = await api.app.inject({ url: `/v1/batches/${created.id}`, headers: api.auth(B) })
    expect(other.statusCode).toBe(404)
    const listed = await api.app.inject({ url: `/v1/imports?batch_id=${created.id}`, headers: api.auth(B) })
    expect(listed.json().items).toHaveLength(0)
    const own = await api.app.inject({
      url: `/v1/imports?batch_id=${created.id}&limit=100`,
      headers: api.auth(A),
    })
    expect(own.json().items).toHaveLength(7)
  })

  it('shows which queued imports wait for their target, and why (image quota)', async () => {
    const items = Array.from({ length: 4 }, (_, i) => ({ ...PAGE_EXAMPLE, external_id: `w-${i}` }))
    const created = (await postBatch(A, { items })).json()
    const ids: string[] = created.imports.map((i: { id: string }) => i.id)
    const url = `/v1/batches/${created.id}`
    const before = (await api.app.inject({ url, headers: api.auth(A) })).json()
    expect(before.waiting).toEqual({ count: 0, reasons: [] })
    expect(before.items.map((i: { waiting: unknown }) => i.waiting)).toEqual([null, null, null, null])

    // As the worker writes it when the target's quota is used up (apps/worker/src/image-quota.ts).
    const waiting = (since: string, code: string | null, message: string) => ({
      reason: 'image_quota' as const,
      code,
      message,
      since,
    })
    const [w0, w1, w2, w3] = ids as [string, string, string, string]
    await api.deps.store.transition(w0, 'queued', {
      waiting: waiting('2026-01-01T00:00:05.000Z', 'IMG.0015', 'quota reached (later)'),
    })
    await api.deps.store.transition(w1, 'queued', {
      waiting: waiting('2026-01-01T00:00:01.000Z', 'IMG.0015', 'quota reached'),
    })
    await api.deps.store.transition(w2, 'queued', {
      waiting: waiting('2026-01-01T00:00:02.000Z', null, 'no free quota'),
    })
    await api.deps.store.transition(w3, 'cancelled')

    const view = await api.app.inject({ url, headers: api.auth(A) })
    expect(view.statusCode).toBe(200)
    const body = view.json()
    const target = body.items[0].target
    expect(body.waiting.count).toBe(3)
    expect(body.waiting.reasons).toEqual(
      expect.arrayContaining([
        {
          target,
          reason: 'image_quota',
          code: 'IMG.0015',
          message: 'quota reached (later)',
          since: '2026-01-01T00:00:01.000Z',
          count: 2,
        },
        {
          target,
          reason: 'image_quota',
          code: null,
          message: 'no free quota',
          since: '2026-01-01T00:00:02.000Z',
          count: 1,
        },
      ]),
    )
    expect(body.waiting.reasons).toHaveLength(2)
    expect(body.items[0].waiting).toMatchObject({ reason: 'image_quota', code: 'IMG.0015' })
    expect(body.items[3]).toMatchObject({ status: 'cancelled', waiting: null })
    // The import's own view shows the same reason.
    const one = await api.app.inject({ url: `/v1/imports/${w1}`, headers: api.auth(A) })
    expect(one.json().waiting).toEqual(waiting('2026-01-01T00:00:01.000Z', 'IMG.0015', 'quota reached'))
    // Paged or filtered, the summary covers the whole batch.
    const paged = (
      await api.app.inject({ url: `${url}?limit=1&status=cancelled`, headers: api.auth(A) })
    ).json()
    expect(paged.waiting.count).toBe(3)
  })

  it('answers 400 when no item is valid, for an empty or oversized batch, and for a non-object body', async () => {
    const none = await postBatch(A, { items: [{ name: 'x' }, 42] })
    expect(none.statusCode).toBe(400)
    expect(none.json().item_errors.map((e: { index: number }) => e.index)).toEqual([0, 1])
    expect(none.json().errors[0].path).toMatch(/^items\[0\]/)
    const empty = await postBatch(A, { items: [] })
    expect(empty.statusCode).toBe(400)
    expect(empty.json().errors[0].path).toBe('items')
    const tooMany = await postBatch(A, { items: Array.from({ length: 1001 }, () => ({})) })
    expect(tooMany.statusCode).toBe(400)
    expect(tooMany.json().errors[0]).toMatchObject({ path: 'items' })
    const notObject = await postBatch(A, [PAGE_EXAMPLE])
    expect(notObject.statusCode).toBe(400)
  })

  it('accepts 1000 items in one request, replays it under the same Idempotency-Key', async () => {
    const fresh = await startTestApi(inject('redisUrl'))
    try {
      const [T] = fresh.tenants
      const items = Array.from({ length: 1000 }, (_, i) => ({ ...PAGE_EXAMPLE, external_id: `k-${i}` }))
      const send = () => fresh.post('/v1/batches', T, { items }, { 'idempotency-key': 'big-batch' })
      const res = await send()
      expect(res.statusCode).toBe(202)
      expect(res.json().accepted).toBe(1000)
      expect(await fresh.submitJobs(fresh.targets[0])).toBe(1000)
      const again = await send()
      expect(again.statusCode).toBe(202)
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(again.json().id).toBe(res.json().id)
      expect(await fresh.submitJobs(fresh.targets[0])).toBe(1000)
      const batch = (
        await fresh.app.inject({ url: `/v1/batches/${res.json().id}?limit=1`, headers: fresh.auth(T) })
      ).json()
      expect(batch.counts.queued).toBe(1000)
    } finally {
      await fresh.close()
    }
  })

  it('answers 413 for a batch body over its limit', async () => {
    const small = await startTestApi(inject('redisUrl'), { batchBodyLimitBytes: 2048 })
    try {
      const items = Array.from({ length: 20 }, () => PAGE_EXAMPLE)
      const res = await small.post('/v1/batches', small.tenants[0], { items })
      expect(res.statusCode).toBe(413)
      expect(res.json()).toMatchObject({ status: 413 })
    } finally {
      await small.close()
    }
  })
})
