import { request } from 'undici'
import { beforeAll, describe, expect, it } from 'vitest'
import { PAGE_EXAMPLE, useTestApi } from './helpers.js'

/** The same contract through a real listening port (undici), not only app.inject(). */
const api = useTestApi({ bodyLimitBytes: 8 * 1024 })
let base: string

beforeAll(async () => {
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})

const json = { 'content-type': 'application/json' }

describe('over a real port', () => {
  it('POST 202 with Location, then GET, list and cancel', async () => {
    const [A] = api.tenants
    const res = await request(`${base}/v1/imports`, {
      method: 'POST',
      headers: { ...api.auth(A), ...json, 'x-request-id': 'port-test-1' },
      body: JSON.stringify({ ...PAGE_EXAMPLE, external_id: 'port' }),
    })
    expect(res.statusCode).toBe(202)
    expect(res.headers['x-request-id']).toBe('port-test-1')
    const created = (await res.body.json()) as { id: string }
    expect(res.headers.location).toBe(`/v1/imports/${created.id}`)

    const got = await request(`${base}${res.headers.location}`, { headers: api.auth(A) })
    expect(got.statusCode).toBe(200)
    expect(((await got.body.json()) as { status: string }).status).toBe('queued')

    const list = await request(`${base}/v1/imports?external_id=port`, { headers: api.auth(A) })
    expect(((await list.body.json()) as { items: unknown[] }).items).toHaveLength(1)

    const cancel = await request(`${base}/v1/imports/${created.id}/cancel`, {
      method: 'POST',
      headers: { ...api.auth(A), ...json },
    })
    expect(cancel.statusCode).toBe(200)
    expect(((await cancel.body.json()) as { status: string }).status).toBe('cancelled')
  })

  it('answers 401, 404, 413, 415 and 400 as problem+json', async () => {
    const [A, B] = api.tenants
    const created = (await (
      await request(`${base}/v1/imports`, {
        method: 'POST',
        headers: { ...api.auth(A), ...json },
        body: JSON.stringify(PAGE_EXAMPLE),
      })
    ).body.json()) as { id: string }

    const cases = [
      { url: '/v1/imports', init: { method: 'GET' as const }, status: 401 },
      {
        url: `/v1/imports/${created.id}`,
        init: { method: 'GET' as const, headers: api.auth(B) },
        status: 404,
      },
      {
        url: '/v1/imports',
        init: {
          method: 'POST' as const,
          headers: { ...api.auth(A), ...json },
          body: JSON.stringify({ ...PAGE_EXAMPLE, description: 'x'.repeat(9000) }),
        },
        status: 413,
      },
      {
        url: '/v1/imports',
        init: {
          method: 'POST' as const,
          headers: { ...api.auth(A), 'content-type': 'text/csv' },
          body: 'a,b',
        },
        status: 415,
      },
      {
        url: '/v1/imports',
        init: {
          method: 'POST' as const,
          headers: { ...api.auth(A), ...json },
          body: JSON.stringify({ ...PAGE_EXAMPLE, os_version: 'CentOS 7' }),
        },
        status: 400,
      },
    ]
    for (const c of cases) {
      const res = await request(`${base}${c.url}`, c.init)
      expect(res.statusCode, `${c.init.method} ${c.url}`).toBe(c.status)
      expect(res.headers['content-type']).toContain('application/problem+json')
      const problem = (await res.body.json()) as {
        status: number
        title: string
        type: string
        detail: string
      }
      expect(problem.status).toBe(c.status)
      expect(problem.title).toEqual(expect.any(String))
      expect(problem.detail).toEqual(expect.any(String))
      if (c.status === 400)
        expect(
          (problem as unknown as { errors: { path: string; ims_code: string }[] }).errors[0],
        ).toMatchObject({
          path: 'os_version',
          ims_code: 'IMG.0056',
        })
    }
  })

  it('answers keys that could reach a prototype with 400 naming where they are, and records nothing', async () => {
    const [A] = api.tenants
    const example = JSON.stringify(PAGE_EXAMPLE).slice(1, -1)
    const post = async (path: string, raw: string) => {
      const res = await request(`${base}${path}`, {
        method: 'POST',
        headers: { ...api.auth(A), ...json },
        body: raw,
      })
      return {
        status: res.statusCode,
        type: res.headers['content-type'],
        body: (await res.body.json()) as { errors?: { path: string; message: string }[] },
      }
    }
    const before = (await api.deps.store.list({ tenant: A, limit: 500 })).items.length
    const cases = [
      { path: '/v1/imports', raw: `{"__proto__":{"admin":true},${example}}`, paths: ['__proto__'] },
      {
        path: '/v1/imports',
        raw: `{${example},"meta":{"constructor":{"prototype":{"x":1}}}}`,
        paths: ['meta.constructor.prototype'],
      },
      {
        path: '/v1/batches',
        raw: `{"items":[{${example}},{${example},"image_tags":[{"key":"k","value":"v","__proto__":null}]}]}`,
        paths: ['items[1].image_tags[0].__proto__'],
      },
    ]
    for (const c of cases) {
      const res = await post(c.path, c.raw)
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.type).toContain('application/problem+json')
      expect(res.body.errors?.map((e) => e.path)).toEqual(c.paths)
      expect(res.body.errors?.[0]?.message).toMatch(/not accepted/)
    }
    // Text that is not JSON at all still says so.
    expect((await post('/v1/imports', '{"__proto__":')).body).toMatchObject({
      detail: expect.stringMatching(/not valid JSON/),
    })
    expect((await api.deps.store.list({ tenant: A, limit: 500 })).items.length).toBe(before)
  })

  it('serves /openapi.json, /docs and /metrics', async () => {
    const doc = await request(`${base}/openapi.json`)
    expect(doc.statusCode).toBe(200)
    expect(((await doc.body.json()) as { openapi: string }).openapi).toMatch(/^3\.1/)
    const docs = await request(`${base}/docs`)
    expect([200, 302]).toContain(docs.statusCode)
    await docs.body.dump()
    const metrics = await request(`${base}/metrics`)
    expect(metrics.statusCode).toBe(200)
    expect(await metrics.body.text()).toContain('ims_importer_http_request_duration_seconds')
  })
})
