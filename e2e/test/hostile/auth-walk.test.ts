import type { ApiConfig } from '@ims-importer/api'
import { parseApiKeys } from '@ims-importer/api'
import { newId } from '@ims-importer/core'
import { testKeys, uniqueName } from '@ims-importer/core/testing'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLES } from '../../../packages/core/test/fixtures/invalid-bodies.js'
import { startTestApi, type TestApi } from '../../src/input/test-api.js'

/** This file's own Redis namespace: files run side by side on one Redis. */
const ns = testKeys('auth-walk')

/*
 * No key, a wrong key, a revoked key: 401 on every protected route. The routes come from the
 * app's own OpenAPI document, so a route added later is walked without anyone remembering it.
 * Public by design (apps/api/README.md): /livez, /readyz, /metrics unless METRICS_AUTH,
 * /docs* and /openapi.json unless DOCS_AUTH.
 */
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
interface Operation {
  method: Method
  path: string
}

const EXAMPLE = PAGE_EXAMPLES[0]?.body as Record<string, unknown>
const opened: TestApi[] = []
afterAll(async () => {
  for (const api of opened) await api.app.close().catch(() => {})
})

async function operations(api: TestApi, headers: Record<string, string> = {}): Promise<Operation[]> {
  const res = await api.app.inject({ url: '/openapi.json', headers })
  expect(res.statusCode).toBe(200)
  const doc = res.json() as { paths: Record<string, Record<string, unknown>> }
  const ops: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths))
    for (const method of Object.keys(item))
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
        ops.push({ method: method.toUpperCase() as Method, path })
  return ops
}

const isPublic = (op: Operation, config: ApiConfig) =>
  op.path === '/livez' ||
  op.path === '/readyz' ||
  (op.path === '/metrics' && !config.metricsAuth) ||
  ((op.path === '/openapi.json' || op.path === '/docs' || op.path.startsWith('/docs/')) && !config.docsAuth)

/** A concrete URL for an OpenAPI path: ids that exist and are the caller's own, so only the key is wrong. */
function urlFor(path: string, ids: { imp: string; bat: string }): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (path.startsWith('/v1/batches')) return ids.bat
    if (path.startsWith('/v1/imports')) return ids.imp
    return name === 'id' ? ids.imp : 'x'
  })
}

interface Caller {
  label: string
  headers: Record<string, string>
}

async function expect401(api: TestApi, op: Operation, url: string, caller: Caller) {
  const res = await api.app.inject({
    method: op.method,
    url,
    headers: { ...caller.headers, ...(op.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(op.method === 'POST' ? { payload: op.path === '/v1/batches' ? { items: [EXAMPLE] } : EXAMPLE } : {}),
  })
  const where = `${caller.label}: ${op.method} ${url} -> ${res.statusCode} ${res.body.slice(0, 200)}`
  expect(res.statusCode, where).toBe(401)
  expect(res.headers['content-type'], where).toContain('application/problem+json')
  expect(res.headers['www-authenticate'], where).toMatch(/^Bearer/)
  expect(res.json(), where).toMatchObject({ status: 401, type: expect.stringContaining('unauthorized') })
  // HEAD of a GET route is the same route.
  if (op.method === 'GET') {
    const head = await api.app.inject({ method: 'HEAD', url, headers: caller.headers })
    expect(head.statusCode, `HEAD ${where}`).toBe(401)
  }
}

describe('every protected route refuses callers without a valid key (walked from /openapi.json)', () => {
  const revokedTenant = uniqueName('rv')
  const tenants: [string, string] = [uniqueName('ta'), uniqueName('tb')]
  const targets: [string, string] = [uniqueName('t1'), uniqueName('t2')]
  const keys = (withRevoked: boolean) =>
    [
      ...tenants.map((t) => `${t}:key-${t}`),
      ...(withRevoked ? [`${revokedTenant}:revoked-key-${revokedTenant}`] : []),
    ].join(',')

  // The walk sends hundreds of wrong keys from one address: the failed-auth throttle (tested on
  // its own in apps/api/test/http-hygiene.test.ts) would answer them 429 after 20. Here it is set
  // out of reach, so that the walk sees the 401 every route gives behind it.
  const walkable = { authThrottle: { maxFailures: 1_000_000, windowMs: 60_000 } }
  for (const variant of [
    { label: 'default config', config: { ...walkable } },
    {
      label: 'METRICS_AUTH and DOCS_AUTH on',
      config: {
        ...walkable,
        metricsAuth: true,
        docsAuth: true,
        adminKeys: parseApiKeys('ops:admin-key-e2e', 'ADMIN_API_KEYS'),
      },
    },
  ] as { label: string; config: Partial<ApiConfig> }[]) {
    it(`no key, wrong keys, a revoked key: 401 everywhere but the public routes (${variant.label})`, async () => {
      const redisUrl = inject('redisUrl')
      // Before the restart: the key works, and the tenant owns an import and a batch.
      const before = await startTestApi(redisUrl, ns, {
        tenants,
        targets,
        apiKeys: keys(true),
        config: variant.config,
      })
      opened.push(before)
      const revoked = { authorization: `Bearer revoked-key-${revokedTenant}` }
      const created = await before.app.inject({
        method: 'POST',
        url: '/v1/imports',
        headers: revoked,
        payload: EXAMPLE,
      })
      expect(created.statusCode).toBe(202)
      const batch = await before.app.inject({
        method: 'POST',
        url: '/v1/batches',
        headers: revoked,
        payload: { items: [EXAMPLE] },
      })
      expect(batch.statusCode).toBe(202)
      const ids = { imp: created.json().id as string, bat: batch.json().id as string }
      expect((await before.app.inject({ url: `/v1/imports/${ids.imp}`, headers: revoked })).statusCode).toBe(
        200,
      )
      await before.app.close()

      // The restart after removing the key from API_KEYS.
      const api = await startTestApi(redisUrl, ns, {
        tenants,
        targets,
        apiKeys: keys(false),
        config: variant.config,
      })
      opened.push(api)
      const docHeaders = variant.config.docsAuth ? api.auth(tenants[0]) : {}
      const ops = await operations(api, docHeaders)
      const protectedOps = ops.filter((op) => !isPublic(op, api.config))
      // The walk is not vacuous: the document lists the intake routes.
      expect(protectedOps.map((o) => `${o.method} ${o.path}`)).toEqual(
        expect.arrayContaining([
          'POST /v1/imports',
          'GET /v1/imports',
          'GET /v1/imports/{id}',
          'POST /v1/imports/{id}/cancel',
          'POST /v1/batches',
          'GET /v1/batches/{id}',
        ]),
      )
      if (variant.config.metricsAuth) expect(protectedOps.map((o) => o.path)).toContain('/metrics')

      const otherKey = api.keyOf(tenants[0])
      const callers: Caller[] = [
        { label: 'no Authorization', headers: {} },
        { label: 'empty bearer', headers: { authorization: 'Bearer ' } },
        {
          label: 'Basic auth',
          headers: { authorization: `Basic ${Buffer.from(`x:${otherKey}`).toString('base64')}` },
        },
        { label: 'key without scheme', headers: { authorization: otherKey } },
        { label: 'key in X-API-Key', headers: { 'x-api-key': otherKey } },
        { label: 'wrong key', headers: { authorization: 'Bearer not-a-key' } },
        { label: 'a key with one character more', headers: { authorization: `Bearer ${otherKey}x` } },
        { label: 'a key cut short', headers: { authorization: `Bearer ${otherKey.slice(0, -1)}` } },
        { label: 'two tokens', headers: { authorization: `Bearer ${otherKey} ${otherKey}` } },
        { label: 'revoked key', headers: revoked },
      ]
      for (const op of protectedOps) {
        const url = urlFor(op.path, ids)
        for (const caller of callers) await expect401(api, op, url, caller)
        // A tenant key is not an admin key: on admin routes it is refused as well.
        if (op.path === '/metrics')
          await expect401(api, op, url, { label: 'tenant key on /metrics', headers: api.auth(tenants[0]) })
        // A key in the query string is not a key.
        await expect401(api, op, `${url}${url.includes('?') ? '&' : '?'}api_key=${otherKey}`, {
          label: 'query key',
          headers: {},
        })
      }
      // Hidden from the document but protected with DOCS_AUTH: the document and the docs page.
      if (variant.config.docsAuth)
        for (const url of ['/openapi.json', '/docs', '/docs/static/index.html'])
          for (const caller of callers) await expect401(api, { method: 'GET', path: url }, url, caller)
      // Unknown routes without a key: 401 as well, so a caller learns nothing of the route table.
      await expect401(api, { method: 'GET', path: '/v1/secret' }, '/v1/secret', {
        label: 'unknown route',
        headers: {},
      })

      // The public routes answer without a key.
      for (const op of ops.filter((o) => isPublic(o, api.config))) {
        const res = await api.app.inject({ method: op.method, url: op.path })
        expect([200, 302], `${op.method} ${op.path}`).toContain(res.statusCode)
      }
      // The revoked tenant's data is still there, but the remaining keys cannot see it.
      const peek = await api.app.inject({ url: `/v1/imports/${ids.imp}`, headers: api.auth(tenants[0]) })
      expect(peek.statusCode).toBe(404)
      expect(
        (await api.app.inject({ url: `/v1/imports/${newId('imp')}`, headers: api.auth(tenants[0]) }))
          .statusCode,
      ).toBe(404)
      if (variant.config.metricsAuth)
        expect(
          (await api.app.inject({ url: '/metrics', headers: { authorization: 'Bearer admin-key-e2e' } }))
            .statusCode,
        ).toBe(200)
      await api.close()
    })
  }
})
