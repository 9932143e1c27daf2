import { hash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type TenantPolicy, unrestrictedPolicy } from '@ims-importer/core'
import { uniqueName, withTempDir } from '@ims-importer/core/testing'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { loadApiConfig } from '../src/config.js'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

/*
 * The tenant policy at intake and in listings (issue 16): a tenant uses only its targets and
 * buckets (403 naming the rule, never another tenant's targets), within its rate limit and its
 * quota of imports not yet final; list filters are served by an index or refused; another
 * tenant's batch id costs what an unknown one does.
 */

const body = (bucket: string, extra: Record<string, unknown> = {}) => ({
  ...PAGE_EXAMPLE,
  image_url: `${bucket}:web01/sys.zvhd2`,
  ...extra,
})

describe('TENANTS_FILE in the API config', () => {
  it('takes keys, admins and policies from the file, and refuses API_KEYS beside it', () => {
    withTempDir('api-tenants', (dir) => {
      const file = join(dir, 'tenants.json')
      writeFileSync(
        file,
        JSON.stringify({
          tenants: {
            alpha: {
              apiKeys: [`sha256:${hash('sha256', 'alpha-key')}`],
              targets: ['simulator'],
              buckets: ['alpha-*'],
              maxOpenImports: 5,
            },
          },
          admins: { ops: { apiKeys: ['env:OPS_KEY'] } },
        }),
      )
      const c = loadApiConfig({ TENANTS_FILE: file, OPS_KEY: 'ops-key' })
      expect(c.usingDevKey).toBe(false)
      expect(c.apiKeys.map((k) => k.tenant)).toEqual(['alpha'])
      expect(c.adminKeys.map((k) => [k.tenant, k.hash.toString('hex')])).toEqual([
        ['ops', hash('sha256', 'ops-key')],
      ])
      expect(c.tenantPolicies?.get('alpha')).toMatchObject({ targets: ['simulator'], maxOpenImports: 5 })
      expect(() => loadApiConfig({ TENANTS_FILE: file, OPS_KEY: 'x', API_KEYS: 'a:b' })).toThrow(
        /TENANTS_FILE or API_KEYS, not both/,
      )
      expect(() => loadApiConfig({ NODE_ENV: 'production', TENANTS_FILE: file, OPS_KEY: 'x' })).not.toThrow()
      expect(() => loadApiConfig({ TENANTS_FILE: file })).toThrow(
        /admins\.ops\.apiKeys\.0: environment variable OPS_KEY/,
      )
    })
  })
})

describe('the tenant policy at intake', () => {
  let api: TestApi
  let alpha: string
  let beta: string
  let t1: string
  let t2: string
  const policies = new Map<string, TenantPolicy>()

  beforeAll(async () => {
    const tenants: [string, string] = [uniqueName('alpha'), uniqueName('beta')]
    const targets: [string, string] = [uniqueName('ak'), uniqueName('eu')]
    ;[alpha, beta] = tenants
    ;[t1, t2] = targets
    policies.set(alpha, {
      ...unrestrictedPolicy(alpha),
      targets: [t1, t2],
      defaultTarget: t1,
      buckets: ['alpha-*'],
    })
    policies.set(beta, {
      ...unrestrictedPolicy(beta),
      targets: [t2],
      defaultTarget: t2,
      buckets: ['beta-*'],
      maxOpenImports: 3,
      rateLimitPerMinute: 1000,
    })
    api = await startTestApi(inject('redisUrl'), { tenantPolicies: policies }, undefined, {
      tenants,
      targets,
    })
  })
  afterAll(async () => {
    await api?.close()
  })

  it("refuses another tenant's target with 403 naming the rule and only the caller's targets", async () => {
    const res = await api.post('/v1/imports', beta, body('beta-bucket', { target: t1 }))
    expect(res.statusCode).toBe(403)
    expect(res.headers['content-type']).toContain('application/problem+json')
    const problem = res.json()
    expect(problem.detail).toContain(`target: tenant ${beta} may not use target "${t1}"`)
    expect(problem.errors).toEqual([
      { path: 'target', message: `tenant ${beta} may not use target "${t1}"; its targets: ${t2}` },
    ])
    // An unknown target gets the same answer: nothing tells which targets exist.
    const unknown = await api.post('/v1/imports', beta, body('beta-bucket', { target: 'nowhere' }))
    expect(unknown.statusCode).toBe(403)
    expect(unknown.json().errors[0].message).toBe(
      `tenant ${beta} may not use target "nowhere"; its targets: ${t2}`,
    )
    expect(unknown.body).not.toContain(t1)
  })

  it("refuses another tenant's bucket with 403; its own bucket on its default target is accepted", async () => {
    const res = await api.post('/v1/imports', beta, body('alpha-bucket'))
    expect(res.statusCode).toBe(403)
    expect(res.json().errors).toEqual([
      { path: 'image_url', message: `bucket "alpha-bucket" is not one tenant ${beta} may import from` },
    ])
    const ok = await api.post('/v1/imports', beta, body('beta-bucket'))
    expect(ok.statusCode).toBe(202)
    expect(ok.json().target).toBe(t2)
    // A body with other errors too is a 400 listing all of them.
    const mixed = await api.post('/v1/imports', beta, body('alpha-bucket', { min_disk: 0 }))
    expect(mixed.statusCode).toBe(400)
    expect(
      mixed
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['image_url', 'min_disk'])
  })

  it('judges batch items one by one; a batch whose every item breaks the policy is a 403', async () => {
    const res = await api.post('/v1/batches', alpha, {
      items: [
        body('alpha-1'),
        body('beta-1'),
        body('alpha-2', { target: t2 }),
        body('alpha-3', { target: 'x' }),
      ],
    })
    expect(res.statusCode).toBe(202)
    const answer = res.json()
    expect(answer.imports.map((i: { index: number; target: string }) => [i.index, i.target])).toEqual([
      [0, t1],
      [2, t2],
    ])
    expect(answer.errors).toEqual([
      {
        index: 1,
        errors: [
          {
            path: 'items[1].image_url',
            message: `bucket "beta-1" is not one tenant ${alpha} may import from`,
          },
        ],
      },
      {
        index: 3,
        errors: [
          {
            path: 'items[3].target',
            message: `tenant ${alpha} may not use target "x"; its targets: ${t1}, ${t2}`,
          },
        ],
      },
    ])
    const none = await api.post('/v1/batches', alpha, { items: [body('beta-1'), body('beta-2')] })
    expect(none.statusCode).toBe(403)
    expect(none.json().item_errors).toHaveLength(2)
  })

  it('caps the imports not yet final (429 with the reason), single and batch, counted with the write', async () => {
    // beta has one import from above; its cap is 3.
    const open = (await api.deps.store.list({ tenant: beta, status: 'queued' })).items.length
    expect(open).toBe(1)
    const batch = await api.post('/v1/batches', beta, {
      items: [body('beta-a'), body('beta-b'), body('beta-c')],
    })
    expect(batch.statusCode).toBe(429)
    expect(batch.json().detail).toMatch(/has 1 imports not yet final and may have at most 3/)
    expect((await api.deps.store.list({ tenant: beta, status: 'queued' })).items).toHaveLength(1)
    // Concurrent requests cannot overshoot: admission counts and writes in one script.
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => api.post('/v1/imports', beta, body(`beta-c${i}`))),
    )
    expect(answers.filter((a) => a.statusCode === 202)).toHaveLength(2)
    expect(answers.filter((a) => a.statusCode === 429)).toHaveLength(4)
    expect((await api.deps.store.list({ tenant: beta, status: 'queued' })).items).toHaveLength(3)
    // A final import frees its place.
    const first = (await api.deps.store.list({ tenant: beta, status: 'queued', limit: 1 })).items[0]
    const cancelled = await api.app.inject({
      method: 'POST',
      url: `/v1/imports/${first?.id}/cancel`,
      headers: api.auth(beta),
    })
    expect(cancelled.statusCode).toBe(200)
    expect((await api.post('/v1/imports', beta, body('beta-d'))).statusCode).toBe(202)
  })

  it('lists: target checked against the tenant, status with target refused, others served', async () => {
    const get = (tenant: string, q: string) =>
      api.app.inject({ url: `/v1/imports?${q}`, headers: api.auth(tenant) })
    const foreign = await get(beta, `target=${t1}`)
    expect(foreign.statusCode).toBe(400)
    expect(foreign.json().errors).toEqual([
      { path: 'querystring.target', message: `not one of the tenant's targets: ${t2}` },
    ])
    const both = await get(alpha, `target=${t1}&status=queued`)
    expect(both.statusCode).toBe(400)
    expect(both.json().detail).toBe('no index serves this combination of filters')
    for (const q of [`target=${t1}`, 'status=queued', 'external_id=x', `target=${t1}&external_id=x`]) {
      const res = await get(alpha, q)
      expect(res.statusCode, q).toBe(200)
    }
    expect((await get(alpha, `target=${t2}`)).json().items).toHaveLength(1)
  })
})

describe('batch ids: another tenant’s costs what an unknown one does', () => {
  let api: TestApi
  beforeAll(async () => {
    api = await startTestApi(inject('redisUrl'))
  })
  afterAll(async () => {
    await api?.close()
  })

  it('same answer, same Redis commands, on GET /v1/batches/{id} and GET /v1/imports?batch_id=', async () => {
    const [A, B] = api.tenants
    const items = Array.from({ length: 200 }, (_, i) => ({ ...PAGE_EXAMPLE, name: `n-${i}` }))
    const made = await api.post('/v1/batches', B, { items })
    expect(made.statusCode).toBe(202)
    const theirs = made.json().id as string
    const unknown = `bat_${'0'.repeat(theirs.length - 4)}`.slice(0, theirs.length)
    // Warm: the rate limit's script is loaded once, not in the compared requests.
    await api.app.inject({ url: `/v1/batches/${unknown}`, headers: api.auth(A) })
    const spy = vi.spyOn(api.deps.redis, 'sendCommand')
    const commands = async (url: string) => {
      spy.mockClear()
      const res = await api.app.inject({ url, headers: api.auth(A) })
      // Only this request's commands (no rate limit here: 100,000 a minute still takes one).
      return { status: res.statusCode, body: res.json(), commands: spy.mock.calls.map(([c]) => c.name) }
    }
    const views = [await commands(`/v1/batches/${theirs}`), await commands(`/v1/batches/${unknown}`)]
    const lists = [
      await commands(`/v1/imports?batch_id=${theirs}`),
      await commands(`/v1/imports?batch_id=${unknown}`),
    ]
    spy.mockRestore()
    console.log(
      `batch view, another tenant's id vs an unknown one: ${views.map((v) => v.commands.join('+')).join(' | ')}`,
    )
    console.log(
      `list by batch_id, another tenant's id vs an unknown one: ${lists.map((v) => v.commands.join('+')).join(' | ')}`,
    )
    expect(views[0]?.status).toBe(404)
    expect(views[0]?.commands).toEqual(views[1]?.commands)
    expect(views[0]?.body.detail.replace(theirs, 'ID')).toBe(views[1]?.body.detail.replace(unknown, 'ID'))
    expect(lists[0]?.body).toEqual({ items: [], next_cursor: null })
    expect(lists[0]?.body).toEqual(lists[1]?.body)
    expect(lists[0]?.commands).toEqual(lists[1]?.commands)
    // Nothing of the batch is read: not its record (GET), not its imports (page script, MGET).
    for (const c of [...views, ...lists]) expect(c.commands).toEqual(['evalsha', 'zscore'])
  })
})
