import { randomBytes } from 'node:crypto'
import { createRedis } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { Worker } from 'bullmq'
import { describe, expect, inject, it } from 'vitest'
import { parseApiKeys } from '../src/auth.js'
import { presentedKey } from '../src/routes/admin-queues.js'
import { useTestApi } from './helpers.js'

const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`
const admin = uniqueName('ops')
const adminKeys = parseApiKeys(`${admin}:${ADMIN_KEY}`, 'ADMIN_API_KEYS')

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

const PAGE = '/admin/queues'
const API = '/admin/queues/api/queues'
const STATIC = '/admin/queues/static/favicon-32x32.png'

const readOnly = useTestApi({ adminKeys })
const writable = useTestApi({ adminKeys, adminQueuesWrite: true })

describe('queue UI at /admin/queues: who may see it', () => {
  const refused = () => {
    const tenantKey = `key-${readOnly.tenants[0]}`
    return [
      ['no key', {}],
      ['a tenant key (Bearer)', { authorization: `Bearer ${tenantKey}` }],
      ['a tenant key (Basic)', { authorization: basic('admin', tenantKey) }],
      ['a wrong key (Basic)', { authorization: basic('admin', `${ADMIN_KEY}x`) }],
      ['Basic with the key as user name', { authorization: basic(ADMIN_KEY, '') }],
    ] as const
  }

  for (const url of [PAGE, `${PAGE}/`, `${PAGE}/queue/callback`, API, STATIC])
    it(`answers 401 with a Basic challenge on ${url} for no key, a tenant key and a wrong key`, async () => {
      for (const [label, headers] of refused()) {
        const res = await readOnly.app.inject({ url, headers })
        expect(res.statusCode, `${label} on ${url}`).toBe(401)
        expect(res.headers['www-authenticate']).toBe('Basic realm="ims-importer queues", charset="UTF-8"')
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
        expect(res.body).not.toContain('<html')
        expect(res.body).not.toContain(ADMIN_KEY)
      }
    })

  it('answers 200 to the admin key, as Bearer or as the Basic password', async () => {
    for (const authorization of [`Bearer ${ADMIN_KEY}`, basic('anyone', ADMIN_KEY), basic('', ADMIN_KEY)]) {
      const page = await readOnly.app.inject({ url: PAGE, headers: { authorization } })
      expect(page.statusCode).toBe(200)
      expect(page.headers['content-type']).toMatch(/^text\/html/)
      expect(page.body).toContain('<base href="/admin/queues/" />')
      // Nothing from another origin (bull-board links Google Fonts): the page loads only from here.
      expect(page.body).not.toMatch(/(?:href|src)="(?:https?:)?\/\//)
      expect(page.body).toContain('static/css/')
      const api = await readOnly.app.inject({ url: API, headers: { authorization } })
      expect(api.statusCode).toBe(200)
      const icon = await readOnly.app.inject({ url: STATIC, headers: { authorization } })
      expect(icon.statusCode).toBe(200)
      expect(icon.headers['content-type']).toBe('image/png')
    }
  })

  it('reads the key from Basic only as the password', () => {
    expect(presentedKey(basic('u', 'k:with:colons'))).toBe('k:with:colons')
    expect(presentedKey(basic('only-user', ''))).toBeNull()
    expect(presentedKey('Bearer abc')).toBe('abc')
    expect(presentedKey('Basic !!!')).toBeNull()
    expect(presentedKey(undefined)).toBeNull()
  })
})

describe('queue UI: what it shows', () => {
  it("lists every target's submit and poll queues, the callback and the reconcile queue, read-only", async () => {
    const res = await readOnly.app.inject({ url: API, headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    expect(res.statusCode).toBe(200)
    const queues = (res.json() as { queues: { name: string; readOnlyMode: boolean }[] }).queues
    const [t1, t2] = readOnly.targets
    expect(queues.map((q) => q.name).sort()).toEqual(
      [`submit-${t1}`, `poll-${t1}`, `submit-${t2}`, `poll-${t2}`, 'callback', 'reconcile'].sort(),
    )
    expect(queues.every((q) => q.readOnlyMode)).toBe(true)
  })

  it('is not in the OpenAPI document', async () => {
    const doc = (await readOnly.app.inject({ url: '/openapi.json' })).json() as { paths: object }
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([])
  })
})

describe('queue UI: writing', () => {
  const asAdmin = { authorization: `Bearer ${ADMIN_KEY}` }
  /** A bull-board write (PUT) on `app`, as the admin unless `headers` say otherwise. */
  const put = (app: typeof writable.app, url: string, headers: Record<string, string> = asAdmin) =>
    app.inject({ method: 'PUT', url, headers })
  /** Each write in `urls` is refused with 403 (and a detail matching `detail`, when given). */
  const expectRefused = async (app: typeof writable.app, urls: string[], detail?: RegExp) => {
    for (const url of urls) {
      const res = await put(app, url)
      expect(res.statusCode, url).toBe(403)
      if (detail) expect(res.json().detail, url).toMatch(detail)
    }
  }

  it('refuses every write when ADMIN_QUEUES_WRITE is off', async () => {
    await expectRefused(
      readOnly.app,
      [`${API}/callback/clean/failed`, `${API}/callback/retry/failed`, `${API}/callback/pause`],
      /read-only/,
    )
  })

  it('with ADMIN_QUEUES_WRITE, retries and cleans failed jobs and nothing else', async () => {
    const { deps } = writable
    const callback = deps.queues.callback()
    // Two failed jobs, made the real way: a worker whose processor throws.
    await callback.add('callback', { importId: 'imp_a' }, { jobId: 'callback-imp_a' })
    await callback.add('callback', { importId: 'imp_b' }, { jobId: 'callback-imp_b' })
    const connection = createRedis(inject('redisUrl'))
    const worker = new Worker(
      callback.name,
      async () => {
        throw new Error('refused by the test')
      },
      { connection, prefix: deps.keys.bullPrefix, autorun: false },
    )
    worker.on('error', () => {})
    const failed = new Promise<void>((resolve) => {
      let n = 0
      worker.on('failed', () => {
        if (++n === 2) resolve()
      })
    })
    void worker.run()
    await failed
    await worker.close()
    await connection.quit()
    expect(await callback.getFailedCount()).toBe(2)

    const retry = await put(writable.app, `${API}/callback/callback-imp_a/retry`)
    expect(retry.statusCode).toBe(204)
    expect(await callback.getJobState('callback-imp_a')).toBe('waiting')

    const cleanJob = await put(writable.app, `${API}/callback/callback-imp_b/clean`)
    expect(cleanJob.statusCode).toBe(204)
    expect(await callback.getFailedCount()).toBe(0)
    // Cleaning a state is allowed too (bull-board keeps jobs that ended in the last 5 s).
    const cleanAll = await put(writable.app, `${API}/callback/clean/failed`)
    expect(cleanAll.statusCode).toBe(200)

    await expectRefused(writable.app, [
      `${API}/callback/pause`,
      `${API}/callback/empty`,
      `${API}/callback/obliterate`,
    ])
    expect(await callback.isPaused()).toBe(false)
    expect(await callback.getWaitingCount()).toBe(1)

    // A tenant key still cannot write.
    const tenant = await put(writable.app, `${API}/callback/clean/failed`, writable.auth(writable.tenants[0]))
    expect(tenant.statusCode).toBe(401)
  })
})
