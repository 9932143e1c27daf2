import { createHash } from 'node:crypto'
import { ConfigError } from '@ims-importer/core'
import { keysEverywhere } from '@ims-importer/core/testing'
import { describe, expect, inject, it } from 'vitest'
import { parseApiKeys } from '../src/auth.js'
import { loadApiConfig } from '../src/config.js'
import { PAGE_EXAMPLE, startTestApi } from './helpers.js'

describe('API keys', () => {
  it('accepts keys given as sha256:<hex> and never keeps plaintext', async () => {
    const hex = createHash('sha256').update('s3cret-key').digest('hex')
    const keys = parseApiKeys(`acme:sha256:${hex},beta:plain-key`, 'API_KEYS')
    expect(keys.map((k) => k.tenant)).toEqual(['acme', 'beta'])
    expect(JSON.stringify(keys)).not.toContain('plain-key')
    const api = await startTestApi(inject('redisUrl'), {
      apiKeys: parseApiKeys(`hashed-tenant-${Date.now()}:sha256:${hex}`, 'API_KEYS'),
    })
    try {
      const ok = await api.app.inject({ url: '/v1/imports', headers: { authorization: 'Bearer s3cret-key' } })
      expect(ok.statusCode).toBe(200)
      const wrong = await api.app.inject({ url: '/v1/imports', headers: { authorization: `Bearer ${hex}` } })
      expect(wrong.statusCode).toBe(401)
    } finally {
      await api.close()
    }
  })

  it('refuses malformed API_KEYS without echoing the key', () => {
    expect(() => parseApiKeys('no-colon-secret', 'API_KEYS')).toThrow(ConfigError)
    expect(() => parseApiKeys('bad tenant:xyz', 'API_KEYS')).toThrow(/entry 1/)
    expect(() => parseApiKeys('t:sha256:abc', 'API_KEYS')).toThrow(/64 hex/)
    try {
      parseApiKeys('ok:fine,bad tenant:topsecretvalue', 'API_KEYS')
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecretvalue')
    }
  })
})

describe('loadApiConfig', () => {
  it('uses the documented dev key outside production and says so', () => {
    const config = loadApiConfig({})
    expect(config.usingDevKey).toBe(true)
    expect(config.apiKeys[0]?.tenant).toBe('dev')
    expect(config.port).toBe(8080)
    expect(config.targets).toEqual(['simulator'])
  })

  it('requires API_KEYS in production and admin keys for METRICS_AUTH', () => {
    expect(() => loadApiConfig({ NODE_ENV: 'production' })).toThrow(/API_KEYS: required in production/)
    expect(() => loadApiConfig({ METRICS_AUTH: 'true' })).toThrow(/ADMIN_API_KEYS/)
    const c = loadApiConfig({
      NODE_ENV: 'production',
      API_KEYS: 'a:k1',
      PORT: '9000',
      RATE_LIMIT_PER_MINUTE: '5',
      CALLBACK_ALLOW_HTTP_LOOPBACK: 'yes',
    })
    expect(c).toMatchObject({ usingDevKey: false, port: 9000, rateLimitPerMinute: 5 })
    expect(c.callbackPolicy).toEqual({ allowPrivate: false, allowHttpLoopback: true })
    expect(() => loadApiConfig({ PORT: 'eighty' })).toThrow(/PORT/)
  })
})

describe('rate limit', () => {
  it('answers 429 with Retry-After once a key has used its requests, per key', async () => {
    const api = await startTestApi(inject('redisUrl'), { rateLimitPerMinute: 3 })
    try {
      const [A, B] = api.tenants
      const codes: number[] = []
      for (let i = 0; i < 4; i++)
        codes.push((await api.app.inject({ url: '/v1/imports', headers: api.auth(A) })).statusCode)
      expect(codes).toEqual([200, 200, 200, 429])
      const limited = await api.post('/v1/imports', A, PAGE_EXAMPLE)
      expect(limited.statusCode).toBe(429)
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(20)
      expect(limited.json()).toMatchObject({ status: 429, type: expect.stringContaining('rate_limited') })
      // Another key has its own budget; health routes need no key and are not limited.
      expect((await api.app.inject({ url: '/v1/imports', headers: api.auth(B) })).statusCode).toBe(200)
      expect((await api.app.inject({ url: '/livez' })).statusCode).toBe(200)
      const metrics = await api.deps.metrics.registry.getSingleMetricAsString(
        'ims_importer_imports_rejected_total',
      )
      expect(metrics).toMatch(/reason="rate_limited"[^\n]* 1/)
    } finally {
      await api.close()
    }
  })
})

describe('rate limit on the intake routes (taken with the Idempotency-Key claim)', () => {
  it('answers 429 before validation and claims no key while limited; counts invalid bodies', async () => {
    const api = await startTestApi(inject('redisUrl'), { rateLimitPerMinute: 2 })
    try {
      const [A] = api.tenants
      const post = (url: string, payload: unknown, key?: string) =>
        api.app.inject({
          method: 'POST',
          url,
          headers: { ...api.auth(A), ...(key ? { 'idempotency-key': key } : {}) },
          payload: payload as Record<string, unknown>,
        })
      // An invalid body spends the key's budget like any request: 400, then 202, then 429.
      expect((await post('/v1/imports', { ...PAGE_EXAMPLE, name: '' })).statusCode).toBe(400)
      expect((await post('/v1/imports', PAGE_EXAMPLE, 'first')).statusCode).toBe(202)
      const limited = [
        await post('/v1/imports', PAGE_EXAMPLE, 'second'),
        await post('/v1/imports', { ...PAGE_EXAMPLE, name: '' }, 'third'),
        await post('/v1/imports', PAGE_EXAMPLE, ''),
        await post('/v1/batches', { items: [{ name: '' }] }),
        await post('/v1/batches', { items: 'none' }),
        await post('/v1/batches', { items: [PAGE_EXAMPLE] }, 'fourth'),
      ]
      expect(limited.map((r) => r.statusCode)).toEqual([429, 429, 429, 429, 429, 429])
      for (const r of limited) expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      // Nothing was claimed or written while limited.
      const claimed = await keysEverywhere(api.deps.redis, `*idem:${A}:*`)
      expect(claimed).toHaveLength(1)
      expect((await api.deps.store.list({ tenant: A })).items).toHaveLength(1)
    } finally {
      await api.close()
    }
  })
})

describe('health and metrics', () => {
  it('serves /livez and /readyz without a key, /metrics publicly by default', async () => {
    const api = await startTestApi(inject('redisUrl'))
    try {
      expect((await api.app.inject({ url: '/livez' })).json()).toEqual({ status: 'ok' })
      const ready = await api.app.inject({ url: '/readyz' })
      expect(ready.statusCode).toBe(200)
      expect(ready.json()).toEqual({ status: 'ready', redis: 'up' })
      await api.post('/v1/imports', api.tenants[0], PAGE_EXAMPLE)
      await api.post('/v1/imports', api.tenants[0], {})
      await api.post('/v1/batches', api.tenants[0], { items: [PAGE_EXAMPLE, PAGE_EXAMPLE] })
      await api.app.inject({
        url: '/v1/imports/imp_00000000000000000000000000',
        headers: api.auth(api.tenants[0]),
      })
      const res = await api.app.inject({ url: '/metrics' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toContain('text/plain')
      const text = res.body
      expect(text).toContain(
        `ims_importer_imports_accepted_total{target="${api.targets[0]}",service="api"} 3`,
      )
      expect(text).toMatch(/ims_importer_imports_rejected_total\{reason="validation",service="api"\} 1/)
      expect(text).toContain('ims_importer_batch_size_items_count{service="api"} 1')
      const postCount = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('ims_importer_http_request_duration_seconds_count{') &&
            l.includes('route="/v1/imports"') &&
            l.includes('method="POST"') &&
            l.includes('status_code="202"'),
        )
      expect(postCount).toMatch(/ 1$/)
      expect(text).toContain('route="/v1/imports/:id"')
      expect(text).not.toMatch(/imp_[0-9A-Z]{26}/)
    } finally {
      await api.close()
    }
  })

  it('requires an admin key on /metrics when METRICS_AUTH is on; tenant keys are refused', async () => {
    const api = await startTestApi(inject('redisUrl'), {
      metricsAuth: true,
      adminKeys: parseApiKeys('ops:admin-key', 'ADMIN_API_KEYS'),
    })
    try {
      expect((await api.app.inject({ url: '/metrics' })).statusCode).toBe(401)
      expect((await api.app.inject({ url: '/metrics', headers: api.auth(api.tenants[0]) })).statusCode).toBe(
        401,
      )
      const ok = await api.app.inject({ url: '/metrics', headers: { authorization: 'Bearer admin-key' } })
      expect(ok.statusCode).toBe(200)
      // Admin keys are not tenant keys.
      const asTenant = await api.app.inject({
        url: '/v1/imports',
        headers: { authorization: 'Bearer admin-key' },
      })
      expect(asTenant.statusCode).toBe(401)
    } finally {
      await api.close()
    }
  })
})
