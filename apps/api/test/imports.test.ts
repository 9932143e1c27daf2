import { describe, expect, inject, it } from 'vitest'
import { acceptedBody, DATA_DISK_EXAMPLE, PAGE_EXAMPLE, startTestApi, useTestApi } from './helpers.js'

const api = useTestApi()
const [A, B] = api.tenants

const post = (tenant: string, body: unknown, headers: Record<string, string> = {}) =>
  api.post('/v1/imports', tenant, body, headers)
const cancel = (id: string, tenant: string, body?: unknown, headers: Record<string, string> = {}) =>
  api.post(`/v1/imports/${id}/cancel`, tenant, body, headers)

describe('POST /v1/imports', () => {
  it('answers 202 with Location once the record and its submit job exist; service fields never reach the request', async () => {
    const res = await post(A, {
      ...PAGE_EXAMPLE,
      target: api.targets[1],
      external_id: 'ext-1',
      callback_url: 'https://hooks.example.com/ims',
    })
    const body = acceptedBody(res, '/v1/imports')
    expect(body).toMatchObject({
      id: expect.stringMatching(/^imp_/),
      status: 'queued',
      target: api.targets[1],
      external_id: 'ext-1',
      callback_url: 'https://hooks.example.com/ims',
      request: PAGE_EXAMPLE,
    })
    expect(body.created_at).toEqual(expect.any(String))
    expect(body).not.toHaveProperty('tenant')
    const record = await api.deps.store.get(body.id)
    expect(record?.tenant).toBe(A)
    expect(record?.request).toEqual(PAGE_EXAMPLE)
    expect(Object.keys(record?.request ?? {})).not.toContain('target')
    expect(await api.hasSubmitJob(api.targets[1], body.id)).toBe(true)
  })

  it('uses the first configured target by default and takes the data-disk variant', async () => {
    const res = await post(A, DATA_DISK_EXAMPLE)
    expect(res.statusCode).toBe(202)
    expect(res.json().target).toBe(api.targets[0])
    expect(await api.hasSubmitJob(api.targets[0], res.json().id)).toBe(true)
  })

  it('rejects an invalid body with 400 problem+json listing paths and IMS codes', async () => {
    const res = await post(A, { ...PAGE_EXAMPLE, name: 'x'.repeat(129), min_disk: 0, bogus: 1 })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toContain('application/problem+json')
    const problem = res.json()
    expect(problem).toMatchObject({
      status: 400,
      title: 'Invalid request',
      type: expect.stringContaining('validation'),
    })
    expect(problem.detail).toEqual(expect.any(String))
    const byPath = Object.fromEntries(problem.errors.map((e: { path: string }) => [e.path, e]))
    expect(byPath.name).toMatchObject({ ims_code: 'IMG.0002' })
    expect(byPath.min_disk).toMatchObject({ ims_code: 'IMG.0055' })
    expect(byPath.bogus?.message ?? JSON.stringify(problem.errors)).toContain('bogus')
  })

  it('rejects bad service fields by path: unknown target, long external_id, private callback_url', async () => {
    const res = await post(A, {
      ...PAGE_EXAMPLE,
      target: 'nowhere',
      external_id: 'e'.repeat(129),
      callback_url: 'https://169.254.169.254/latest',
    })
    expect(res.statusCode).toBe(400)
    const paths = res.json().errors.map((e: { path: string }) => e.path)
    expect(paths).toEqual(expect.arrayContaining(['target', 'external_id', 'callback_url']))
    const cb = res.json().errors.find((e: { path: string }) => e.path === 'callback_url')
    expect(cb.message).toContain('link-local')
  })

  it('rejects plain http callbacks', async () => {
    const res = await post(A, { ...PAGE_EXAMPLE, callback_url: 'http://hooks.example.com/x' })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors[0]).toMatchObject({
      path: 'callback_url',
      message: expect.stringContaining('https'),
    })
  })

  it('rejects a body that is not a JSON object (IMG.0001), invalid JSON and an empty body with 400, never 500', async () => {
    const arr = await post(A, [1, 2])
    expect(arr.statusCode).toBe(400)
    expect(arr.json().errors[0]).toMatchObject({ path: '', ims_code: 'IMG.0001' })
    const broken = await post(A, '{"name": ', { 'content-type': 'application/json' })
    expect(broken.statusCode).toBe(400)
    expect(broken.headers['content-type']).toContain('application/problem+json')
    const empty = await api.app.inject({ method: 'POST', url: '/v1/imports', headers: api.auth(A) })
    expect(empty.statusCode).toBe(400)
  })

  it('answers 415 for a non-JSON body and 413 for a body over the limit', async () => {
    const text = await post(A, 'name=x', { 'content-type': 'text/plain' })
    expect(text.statusCode).toBe(415)
    expect(text.json()).toMatchObject({ status: 415, detail: expect.stringContaining('application/json') })
    const form = await post(A, 'a=b', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(form.statusCode).toBe(415)
    const big = await post(A, { ...PAGE_EXAMPLE, description: 'x'.repeat(70 * 1024) })
    expect(big.statusCode).toBe(413)
    expect(big.headers['content-type']).toContain('application/problem+json')
  })

  it('answers 401 without a key, with a wrong key and with a malformed header', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Basic key-${A}` }]) {
      const res = await api.app.inject({ method: 'POST', url: '/v1/imports', headers, payload: PAGE_EXAMPLE })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(res.json()).toMatchObject({ status: 401, type: expect.stringContaining('unauthorized') })
    }
  })
})

describe('GET /v1/imports/{id}', () => {
  it("shows the tenant's own record and hides other tenants' (404)", async () => {
    const created = (await post(A, PAGE_EXAMPLE)).json()
    const own = await api.app.inject({ url: `/v1/imports/${created.id}`, headers: api.auth(A) })
    expect(own.statusCode).toBe(200)
    expect(own.json()).toMatchObject({
      id: created.id,
      status: 'queued',
      request: PAGE_EXAMPLE,
      ims: { job_id: null, job_status: null, image_id: null, error_code: null, fail_reason: null },
      error: null,
      attempts: { submit: 0, poll: 0 },
      history: [{ status: 'queued' }],
    })
    const other = await api.app.inject({ url: `/v1/imports/${created.id}`, headers: api.auth(B) })
    expect(other.statusCode).toBe(404)
    expect(other.json()).toMatchObject({ status: 404 })
    const missing = await api.app.inject({
      url: '/v1/imports/imp_00000000000000000000000000',
      headers: api.auth(A),
    })
    expect(missing.statusCode).toBe(404)
    const garbage = await api.app.inject({ url: '/v1/imports/whatever', headers: api.auth(A) })
    expect(garbage.statusCode).toBe(404)
  })
})

describe('GET /v1/imports', () => {
  it('lists only the tenant’s imports, newest first, filtered, with a working cursor', async () => {
    const fresh = await startTestApi(inject('redisUrl'))
    try {
      const [C, D] = fresh.tenants
      const ids: string[] = []
      for (let i = 0; i < 5; i++) {
        const res = await fresh.app.inject({
          method: 'POST',
          url: '/v1/imports',
          headers: fresh.auth(C),
          payload: {
            ...PAGE_EXAMPLE,
            external_id: i % 2 === 0 ? 'even' : 'odd',
            target: fresh.targets[i % 2],
          },
        })
        ids.push(res.json().id)
      }
      await fresh.post('/v1/imports', D, PAGE_EXAMPLE)

      const page1 = await fresh.app.inject({ url: '/v1/imports?limit=3', headers: fresh.auth(C) })
      expect(page1.statusCode).toBe(200)
      expect(page1.json().items.map((i: { id: string }) => i.id)).toEqual(ids.slice(2).reverse())
      const cursor = page1.json().next_cursor
      expect(cursor).toEqual(expect.any(String))
      const page2 = await fresh.app.inject({
        url: `/v1/imports?limit=3&cursor=${encodeURIComponent(cursor)}`,
        headers: fresh.auth(C),
      })
      expect(page2.json().items.map((i: { id: string }) => i.id)).toEqual(ids.slice(0, 2).reverse())
      expect(page2.json().next_cursor).toBeNull()

      const even = await fresh.app.inject({ url: '/v1/imports?external_id=even', headers: fresh.auth(C) })
      expect(even.json().items).toHaveLength(3)
      const byTarget = await fresh.app.inject({
        url: `/v1/imports?target=${fresh.targets[1]}`,
        headers: fresh.auth(C),
      })
      expect(byTarget.json().items.map((i: { id: string }) => i.id)).toEqual([ids[3], ids[1]])
      const queued = await fresh.app.inject({ url: '/v1/imports?status=queued', headers: fresh.auth(C) })
      expect(queued.json().items).toHaveLength(5)
      const other = await fresh.app.inject({ url: '/v1/imports', headers: fresh.auth(D) })
      expect(other.json().items).toHaveLength(1)
      expect(ids).not.toContain(other.json().items[0].id)
    } finally {
      await fresh.close()
    }
  })

  it('answers 400 for a bad query (status, limit, cursor)', async () => {
    for (const q of ['status=done', 'limit=0', 'limit=501', 'limit=abc', 'cursor=not-a-cursor']) {
      const res = await api.app.inject({ url: `/v1/imports?${q}`, headers: api.auth(A) })
      expect(res.statusCode, q).toBe(400)
      expect(res.json().errors[0].path).toMatch(/^querystring\./)
    }
  })
})

describe('POST /v1/imports/{id}/cancel', () => {
  it('cancels a queued import (never submitted: its job is gone), and a second cancel is harmless', async () => {
    const created = (await post(A, PAGE_EXAMPLE)).json()
    expect(await api.hasSubmitJob(api.targets[0], created.id)).toBe(true)
    const res = await cancel(created.id, A)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ status: 'cancelled', finished_at: expect.any(String) })
    expect((await api.deps.store.get(created.id))?.status).toBe('cancelled')
    expect(await api.hasSubmitJob(api.targets[0], created.id)).toBe(false)
    const again = await cancel(created.id, A, '', { 'content-type': 'application/json' })
    expect(again.statusCode).toBe(200)
  })

  it("queues a cancelled import's callback (a final state like any other), then drops its submit job", async () => {
    const created = (await post(A, { ...PAGE_EXAMPLE, callback_url: 'https://hooks.example.com/ims' })).json()
    const plain = (await post(A, PAGE_EXAMPLE)).json()
    const callbacks = api.deps.queues.callback()
    for (const id of [created.id, plain.id]) {
      const res = await cancel(id, A)
      expect(res.statusCode).toBe(200)
      expect(await api.hasSubmitJob(api.targets[0], id)).toBe(false)
    }
    const job = await callbacks.getJob(`callback-${created.id}`)
    expect(job?.data).toEqual({ importId: created.id })
    // The worker's retry settings (CALLBACK_ATTEMPTS, CALLBACK_RETRY_BASE_MS), read by the API too.
    expect(job?.opts).toMatchObject({
      attempts: api.deps.config.callbackRetry.attempts,
      backoff: { type: 'exponential', delay: api.deps.config.callbackRetry.retryBaseMs },
    })
    // No callback_url, no callback job; a second cancel queues nothing more.
    expect(await callbacks.getJob(`callback-${plain.id}`)).toBeUndefined()
    await api.app.inject({ method: 'POST', url: `/v1/imports/${created.id}/cancel`, headers: api.auth(A) })
    expect((await callbacks.getWaiting()).filter((j) => j.data.importId === created.id)).toHaveLength(1)
  })

  it('answers 409 once the import is submitted (IMS has no cancel)', async () => {
    const created = (await post(A, PAGE_EXAMPLE)).json()
    await api.deps.store.transition(created.id, 'submitting')
    const res = await cancel(created.id, A)
    expect(res.statusCode).toBe(409)
    expect(res.json()).toMatchObject({ status: 409, detail: expect.stringContaining('submitting') })
    expect((await api.deps.store.get(created.id))?.status).toBe('submitting')
  })

  it("answers 404 for another tenant's import and leaves it alone", async () => {
    const created = (await post(A, PAGE_EXAMPLE)).json()
    const res = await cancel(created.id, B)
    expect(res.statusCode).toBe(404)
    expect((await api.deps.store.get(created.id))?.status).toBe('queued')
  })
})

describe('routing', () => {
  it('answers 404 problem for an unknown route', async () => {
    const res = await api.app.inject({ url: '/v1/nothing', headers: api.auth(A) })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toContain('application/problem+json')
  })

  it('echoes a request id', async () => {
    const res = await api.app.inject({ url: '/livez', headers: { 'x-request-id': 'req-123' } })
    expect(res.headers['x-request-id']).toBe('req-123')
  })
})
