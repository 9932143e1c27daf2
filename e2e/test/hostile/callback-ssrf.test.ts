import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type CallbackJob,
  createImportStore,
  createLogger,
  createRedis,
  decodeWebhookSecret,
  type HostLookup,
  type ImportStore,
  jobIds,
  newId,
  unrestrictedPolicy,
} from '@ims-importer/core'
import { readBody, testKeys, uniqueName } from '@ims-importer/core/testing'
import { createWorkerRuntime, defaultWorkerConfig, type WorkerRuntime } from '@ims-importer/worker'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLES } from '../../../packages/core/test/fixtures/invalid-bodies.js'
import { createLogCapture } from '../../src/input/log-capture.js'
import { startTestApi, type TestApi } from '../../src/input/test-api.js'

/** This file's own Redis namespace: files run side by side on one Redis. */
const ns = testKeys('callback-ssrf')

/*
 * callback_url cannot make the service call into its own network: private, loopback and
 * link-local addresses are refused at intake (IP literals in every spelling, userinfo tricks)
 * and at delivery (a host name that resolves to one, a redirect from an allowed server).
 */
const EXAMPLE = PAGE_EXAMPLES[0]?.body as Record<string, unknown>

describe('callback_url at intake', () => {
  let strict: TestApi
  let loopbackHttp: TestApi
  let privateAllowed: TestApi
  beforeAll(async () => {
    const redisUrl = inject('redisUrl')
    strict = await startTestApi(redisUrl, ns, { config: { logLevel: 'warn' } })
    loopbackHttp = await startTestApi(redisUrl, ns, {
      config: { logLevel: 'warn', callbackPolicy: { allowPrivate: false, allowHttpLoopback: true } },
    })
    privateAllowed = await startTestApi(redisUrl, ns, {
      config: { logLevel: 'warn', callbackPolicy: { allowPrivate: true, allowHttpLoopback: false } },
    })
  })
  afterAll(async () => {
    for (const api of [strict, loopbackHttp, privateAllowed]) {
      if (!api) continue
      for (const t of api.targets) await api.deps.queues.submit(t).obliterate({ force: true })
      await api.close()
    }
  })

  const post = (api: TestApi, callback_url: string) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/imports',
      headers: api.auth(api.tenants[0]),
      payload: { ...EXAMPLE, callback_url },
    })

  /** Loopback in every spelling the URL parser folds into 127.0.0.1, ::1 or a loopback name. */
  const LOOPBACK = [
    'https://127.0.0.1/cb',
    'https://127.1/cb',
    'https://127.0.0.2:8443/cb',
    'https://2130706433/cb',
    'https://0x7f.1/cb',
    'https://0x7f000001/cb',
    'https://017700000001/cb',
    'https://0177.0.0.1/cb',
    'https://%31%32%37.0.0.1/cb',
    'https://[::1]/cb',
    'https://[0:0:0:0:0:0:0:1]/cb',
    'https://[::ffff:127.0.0.1]/cb',
    'https://[::ffff:7f00:1]/cb',
    'https://localhost/cb',
    'https://LOCALHOST./cb',
    'https://a.b.localhost/cb',
  ]
  const PRIVATE = [
    'https://10.0.0.1/cb',
    'https://10.255.255.255/cb',
    'https://172.16.0.1/cb',
    'https://172.31.255.1/cb',
    'https://192.168.1.1/cb',
    'https://0xa000001/cb',
    'https://167772161/cb',
    'https://100.64.0.1/cb',
    'https://[fd00::1]/cb',
    'https://[fc00::1]/cb',
    'https://[::ffff:10.0.0.1]/cb',
    'https://[::ffff:a00:1]/cb',
    'https://[::10.0.0.1]/cb',
    'https://[64:ff9b::a00:1]/cb',
    'https://[2002:a00:1::]/cb',
  ]
  const LINK_LOCAL = [
    'https://169.254.169.254/latest/meta-data/',
    'https://0xa9fea9fe/latest/meta-data/',
    'https://2852039166/latest/meta-data/',
    'https://[fe80::1]/cb',
    'https://[::ffff:169.254.169.254]/cb',
  ]
  const OTHER = [
    'https://0.0.0.0/cb',
    'https://0/cb',
    'https://[::]/cb',
    'https://224.0.0.1/cb',
    'https://255.255.255.255/cb',
    'https://[ff02::1]/cb',
    // userinfo tricks: credentials are refused whatever the host
    'https://good@127.0.0.1/cb',
    'https://example.com@127.0.0.1/cb',
    'https://127.0.0.1%2f@example.com/cb',
    'https://user:hunter2-secret@example.com/cb',
    // not https
    'http://example.com/cb',
    'http://127.0.0.1/cb',
    'ftp://example.com/cb',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'gopher://127.0.0.1:6379/_INFO',
    '//example.com/cb',
    'example.com/cb',
    '',
    `https://example.com/${'a'.repeat(2100)}`,
  ]

  it('refuses private, loopback, link-local and other non-public callbacks in every spelling', async () => {
    for (const url of [...LOOPBACK, ...PRIVATE, ...LINK_LOCAL, ...OTHER]) {
      const res = await post(strict, url)
      expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBe(400)
      const errors = res.json().errors as { path: string; message: string }[]
      expect(errors, url).toEqual([
        expect.objectContaining({ path: 'callback_url', message: expect.any(String) }),
      ])
      // The answer never repeats a password given in the URL.
      expect(res.body).not.toContain('hunter2-secret')
    }
    // Batch items are judged the same way.
    const batch = await strict.app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: strict.auth(strict.tenants[0]),
      payload: { items: [{ ...EXAMPLE, callback_url: 'https://2130706433/' }, EXAMPLE] },
    })
    expect(batch.statusCode).toBe(202)
    expect(batch.json()).toMatchObject({
      accepted: 1,
      errors: [{ index: 0, errors: [expect.objectContaining({ path: 'items[0].callback_url' })] }],
    })
    // A public https callback is fine (its host name is checked again when delivering).
    expect((await post(strict, 'https://example.com/hook')).statusCode).toBe(202)
    expect((await post(strict, 'https://hooks.example.com:8443/a/b?c=d')).statusCode).toBe(202)
  })

  it('lets the policy knobs open exactly what they say', async () => {
    const cases: [typeof loopbackHttp, string[], number][] = [
      // CALLBACK_ALLOW_HTTP_LOOPBACK: loopback (http or https), nothing private.
      [
        loopbackHttp,
        [
          'http://127.0.0.1:9000/cb',
          'http://localhost:9000/cb',
          'http://[::1]:9000/cb',
          'https://127.0.0.1/cb',
        ],
        202,
      ],
      [
        loopbackHttp,
        ['http://10.0.0.1/cb', 'https://10.0.0.1/cb', 'http://169.254.169.254/', 'http://example.com/cb'],
        400,
      ],
      // CALLBACK_ALLOW_PRIVATE: private ranges, but never "this host" or multicast, and still https only.
      [privateAllowed, ['https://10.0.0.1/cb', 'https://192.168.1.1/cb', 'https://[fd00::1]/cb'], 202],
      [privateAllowed, ['https://0.0.0.0/cb', 'https://224.0.0.1/cb', 'http://10.0.0.1/cb'], 400],
    ]
    for (const [app, urls, status] of cases)
      for (const url of urls) expect((await post(app, url)).statusCode, url).toBe(status)
  })
})

describe('callback_url at delivery', () => {
  /** The test tenant's callback secret (Standard Webhooks). */
  const SECRET = 'whsec_c3NyZi10ZXN0LWNhbGxiYWNrLXNlY3JldC0wMTIzNDU2'
  const TENANT = uniqueName('ssrf')
  let server: Server
  let base: string
  let port: number
  let runtime: WorkerRuntime
  let redis: Redis
  let store: ImportStore
  const logs = createLogCapture()
  const received: { path: string; signed: string; signature: string | undefined; body: string }[] = []
  const lookups: string[] = []
  const outcomes = new Map<string, string>()

  /** Fake DNS: each name answers with the addresses an attacker would point it at. */
  const DNS: Record<string, { address: string; family: number }[]> = {
    'hooks.example.test': [{ address: '10.1.2.3', family: 4 }],
    'mixed.example.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '192.168.1.1', family: 4 },
    ],
    'meta.example.test': [{ address: '169.254.169.254', family: 4 }],
    'v6.example.test': [{ address: 'fd00::1', family: 6 }],
    'mapped.example.test': [{ address: '::ffff:10.0.0.1', family: 6 }],
    'nat64.example.test': [{ address: '64:ff9b::a00:1', family: 6 }],
    'internal.example.test': [{ address: '10.0.0.7', family: 4 }],
    'cb.localhost': [{ address: '127.0.0.1', family: 4 }],
    'evil.localhost': [{ address: '10.9.9.9', family: 4 }],
  }
  const lookup: HostLookup = async (hostname) => {
    lookups.push(hostname)
    const found = DNS[hostname]
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return found
  }

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req)
      const url = new URL(req.url ?? '/', 'http://x')
      received.push({
        path: url.pathname,
        signed: `${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${body}`,
        signature: req.headers['webhook-signature'] as string | undefined,
        body,
      })
      const to = url.searchParams.get('to')
      const kind = url.pathname.split('/')[1]
      if (kind === 'r307' || kind === 'r308' || kind === 'r302')
        res.writeHead(Number(kind.slice(1)), { location: to ?? '/' }).end()
      else if (kind === 'loop') res.writeHead(307, { location: url.pathname }).end()
      else res.writeHead(200).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    port = (server.address() as AddressInfo).port
    base = `http://127.0.0.1:${port}`
    const redisUrl = inject('redisUrl')
    redis = createRedis(redisUrl)
    store = createImportStore(redis, { keys: ns })
    const config = defaultWorkerConfig({ redisUrl, targets: [], keyPrefix: ns.prefix })
    runtime = await createWorkerRuntime(
      {
        ...config,
        reconcilerEnabled: false,
        shutdownDeadlineMs: 5000,
        tenantPolicies: new Map([
          [TENANT, { ...unrestrictedPolicy(TENANT), callbackSecrets: [decodeWebhookSecret(SECRET, 'test')] }],
        ]),
        // The first hop may be loopback (this test's server); nothing private, ever.
        callback: {
          ...config.callback,
          allowHttpLoopback: true,
          allowPrivate: false,
          attempts: 1,
          timeoutMs: 2000,
        },
      },
      {
        log: createLogger({ name: 'worker', level: 'debug' }, logs.stream),
        callbackLookup: lookup,
        reconciler: false,
        defaultMetrics: false,
      },
    )
    const worker = runtime.workers.find((w) => w.name === 'callback')
    worker?.on('completed', (job, result) => outcomes.set((job.data as CallbackJob).importId, String(result)))
    worker?.on('failed', (job, err) => {
      if (job) outcomes.set((job.data as CallbackJob).importId, `failed: ${err.message}`)
    })
  })
  afterAll(async () => {
    await runtime?.close()
    await redis?.quit()
    await new Promise((r) => server?.close(r))
  })

  /** A final import whose callback_url is `url(id)`, as the worker finds it, and its callback job. */
  async function deliver(url: (id: string) => string): Promise<string> {
    const id = newId('imp')
    const callbackUrl = url(id)
    // Written straight to the store, as an older version or a hand edit could have: the worker
    // must not rely on the API's check.
    const created = await store.create({
      id,
      tenant: TENANT,
      target: 'ssrf-none',
      request: EXAMPLE,
      callback_url: callbackUrl,
    })
    expect(created.callback_url).toBe(callbackUrl)
    await store.update(id, () => ({ to: 'failed', reason: 'test' }))
    await runtime.deps.queues
      .callback()
      .add(
        'callback',
        { importId: id },
        { jobId: jobIds.callback(id), attempts: 1, removeOnComplete: true, removeOnFail: true },
      )
    return id
  }

  it('never connects to a private address: resolved names, redirects, 302s and loops are refused', async () => {
    const cases: { url: (id: string) => string; outcome: string; reason?: RegExp; hops: number }[] = [
      { url: () => 'https://hooks.example.test/cb', outcome: 'rejected', reason: /private/, hops: 0 },
      { url: () => 'https://mixed.example.test/cb', outcome: 'rejected', reason: /private/, hops: 0 },
      {
        url: () => 'https://meta.example.test/latest/meta-data/',
        outcome: 'rejected',
        reason: /link-local/,
        hops: 0,
      },
      { url: () => 'https://v6.example.test/cb', outcome: 'rejected', reason: /private/, hops: 0 },
      { url: () => 'https://mapped.example.test/cb', outcome: 'rejected', reason: /private/, hops: 0 },
      { url: () => 'https://nat64.example.test/cb', outcome: 'rejected', reason: /private/, hops: 0 },
      {
        url: () => 'https://unknown.example.test/cb',
        outcome: 'rejected',
        reason: /cannot be resolved/,
        hops: 0,
      },
      { url: () => `http://evil.localhost:${port}/ok`, outcome: 'rejected', hops: 0 },
      // Stored without the API's check (written by an older version, or by hand): checked again.
      { url: () => 'https://10.0.0.1/cb', outcome: 'rejected', reason: /private/, hops: 0 },
      {
        url: () => 'https://169.254.169.254/latest/meta-data/',
        outcome: 'rejected',
        reason: /link-local/,
        hops: 0,
      },
      // Redirects from an allowed (loopback) server to a private address.
      {
        url: (id) =>
          `${base}/r307/${id}?to=${encodeURIComponent('https://169.254.169.254/latest/meta-data/')}`,
        outcome: 'rejected',
        reason: /link-local/,
        hops: 1,
      },
      {
        url: (id) => `${base}/r307/${id}?to=${encodeURIComponent('https://internal.example.test/x')}`,
        outcome: 'rejected',
        reason: /private/,
        hops: 1,
      },
      {
        url: (id) => `${base}/r308/${id}?to=${encodeURIComponent('http://10.0.0.8/x')}`,
        outcome: 'rejected',
        hops: 1,
      },
      {
        url: (id) => `${base}/r307/${id}?to=${encodeURIComponent('https://[::ffff:a00:1]/x')}`,
        outcome: 'rejected',
        reason: /private/,
        hops: 1,
      },
      {
        url: (id) => `${base}/r307/${id}?to=${encodeURIComponent(`http://evil.localhost:${port}/ok/${id}`)}`,
        outcome: 'rejected',
        hops: 1,
      },
      {
        url: (id) => `${base}/r307/${id}?to=${encodeURIComponent('https://2130706433@10.0.0.1/')}`,
        outcome: 'rejected',
        hops: 1,
      },
      // A 302 would turn the POST into a GET: not followed at all, even to an allowed address.
      {
        url: (id) => `${base}/r302/${id}?to=${encodeURIComponent(`${base}/ok/${id}`)}`,
        outcome: 'rejected',
        hops: 1,
      },
      // A redirect loop ends.
      { url: (id) => `${base}/loop/${id}`, outcome: 'rejected', reason: /redirects/, hops: 4 },
      // Controls: an allowed redirect is followed, and a loopback name is reached at the checked address.
      {
        url: (id) => `${base}/r307/${id}?to=${encodeURIComponent(`${base}/ok/${id}`)}`,
        outcome: 'delivered',
        hops: 2,
      },
      { url: (id) => `http://cb.localhost:${port}/ok/${id}`, outcome: 'delivered', hops: 1 },
    ]
    const ids: string[] = []
    for (const c of cases) ids.push(await deliver(c.url))
    const deadline = Date.now() + 30_000
    while (ids.some((id) => !outcomes.has(id)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))

    const rejectedLines = logs.find('callback: rejected by policy')
    cases.forEach((c, i) => {
      const id = ids[i] as string
      const what = `${c.url(id)}`
      expect(outcomes.get(id), what).toBe(c.outcome)
      // Requests that reached this test's server for this import: only the allowed hops.
      expect(received.filter((r) => r.path.endsWith(`/${id}`)).length, what).toBe(c.hops)
      if (c.reason) {
        const line = rejectedLines.find((l) => l.importId === id)
        expect(String(line?.reason), what).toMatch(c.reason)
      }
    })
    // The caller can read the outcome on the import itself.
    const stored = await store.getMany(ids)
    cases.forEach((c, i) => {
      expect(stored[i]?.callback?.status, c.url(ids[i] as string)).toBe(
        c.outcome === 'delivered' ? 'delivered' : 'failed',
      )
    })
    // The redirect target's name was looked up (checked), not merely skipped.
    expect(lookups).toContain('internal.example.test')
    // Delivered callbacks carry a valid signature of the exact body (Standard Webhooks).
    const delivered = received.filter((r) => r.path.startsWith('/ok/'))
    expect(delivered).toHaveLength(2)
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64')
    for (const r of delivered)
      expect(r.signature).toBe(`v1,${createHmac('sha256', key).update(r.signed).digest('base64')}`)
    // Nothing of the secret in the worker's log.
    expect(logs.text()).not.toContain(SECRET)
  })
})
