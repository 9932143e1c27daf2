import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  decodeWebhookSecret,
  enqueueCallback,
  type HostLookup,
  newId,
  type TenantPolicy,
  unrestrictedPolicy,
} from '@ims-importer/core'
import { readBody } from '@ims-importer/core/testing'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createWorkerRuntime, type WorkerRuntime } from '../src/index.js'
import { workerTestFile } from './helpers/fixtures.js'
import { silentLog, systemBody, testConfig, waitUntil } from './helpers/harness.js'

/*
 * Callbacks per Standard Webhooks (issue 16), checked by the `standardwebhooks` package as a
 * receiver would: each tenant's callbacks are signed with its own secret(s) only, name the
 * tenant, and a captured one replayed after the receiver's tolerance (5 min) is refused.
 * `callback.last_error` says what failed without an address.
 */
const f = workerTestFile('webhooks')

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`
const SECRETS = { alpha: whsec(), beta: whsec(), gammaOld: whsec(), gammaNew: whsec() }

const policy = (name: string, secrets: string[]): TenantPolicy => ({
  ...unrestrictedPolicy(name),
  callbackSecrets: secrets.map((s) => decodeWebhookSecret(s, 'test')),
})

interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
}

describe('callbacks per Standard Webhooks', () => {
  let server: Server
  let base: string
  let closedPort: number
  let runtime: WorkerRuntime
  const received: Received[] = []
  const intake = f.intake()

  /** Fake DNS: an internal name, as a hostile tenant would probe one. */
  const lookup: HostLookup = async (hostname) => {
    if (hostname === 'db.internal.test') return [{ address: '10.20.30.40', family: 4 }]
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
  }

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req)
      received.push({ path: req.url ?? '', headers: req.headers, body })
      res.writeHead(204).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    // A port nothing listens on: a refused connection.
    const probe = createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()))
    closedPort = (probe.address() as AddressInfo).port
    await new Promise((r) => probe.close(r))

    runtime = await createWorkerRuntime(
      testConfig(f.redisUrl, f.ns, [], {
        callback: { allowHttpLoopback: true, attempts: 1, timeoutMs: 2000 },
        tenantPolicies: new Map([
          ['alpha', policy('alpha', [SECRETS.alpha])],
          ['beta', policy('beta', [SECRETS.beta])],
          ['gamma', policy('gamma', [SECRETS.gammaOld, SECRETS.gammaNew])],
        ]),
      }),
      { log: silentLog(), defaultMetrics: false, callbackLookup: lookup },
    )
  })
  afterAll(async () => {
    await runtime?.close()
    await new Promise((r) => server?.close(r))
  })

  /** A failed import of `tenant` whose callback goes to `url`; resolves once its callback outcome is kept. */
  async function callback(tenant: string, url: string, external_id: string | null = null) {
    const id = newId('imp')
    await intake.store.create({
      id,
      tenant,
      target: 'wh-none',
      request: systemBody(1),
      callback_url: url,
      external_id,
    })
    await intake.store.update(id, () => ({ to: 'failed', reason: 'test' }))
    await enqueueCallback(intake.queues, id, { attempts: 1, retryBaseMs: 100 })
    await waitUntil(
      'the callback outcome kept',
      async () => {
        const s = (await intake.store.get(id))?.callback?.status
        return s === 'delivered' || s === 'failed'
      },
      10_000,
    )
    return { id, record: await intake.store.get(id) }
  }

  const headersOf = (r: Received) => ({
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  })

  it("signs with the tenant's secret: it verifies, names the tenant, and carries no X-Signature", async () => {
    const { id } = await callback('alpha', `${base}/hook/`, 'ext-a')
    const delivered = received.find((r) => r.path === '/hook/') as Received
    expect(delivered).toBeDefined()
    expect(delivered.headers['x-signature']).toBeUndefined()
    const payload = new Webhook(SECRETS.alpha).verify(delivered.body, headersOf(delivered))
    expect(payload).toMatchObject({ id, tenant: 'alpha', status: 'failed', external_id: 'ext-a' })
    expect(delivered.headers['webhook-id']).toBe(`msg_${id}`)
  })

  it('a captured callback replayed after the tolerance is refused', async () => {
    await callback('alpha', `${base}/replay/`)
    const captured = received.find((r) => r.path === '/replay/') as Received
    const receiver = new Webhook(SECRETS.alpha)
    expect(() => receiver.verify(captured.body, headersOf(captured))).not.toThrow()
    // The same bytes and headers sent again 6 minutes later (Standard Webhooks' tolerance: 5 min).
    vi.useFakeTimers({ now: Date.now() + 6 * 60_000, toFake: ['Date'] })
    try {
      expect(() => receiver.verify(captured.body, headersOf(captured))).toThrow(/too old/)
    } finally {
      vi.useRealTimers()
    }
  })

  it("one tenant's callback pointed at another's hook does not verify with the other's secret", async () => {
    // alpha points its callback_url at beta's hook with beta's external_id (the finding).
    const { id } = await callback('alpha', `${base}/beta-hook`, 'beta-ext-1')
    const forged = received.find((r) => r.path === '/beta-hook') as Received
    expect(JSON.parse(forged.body)).toMatchObject({ id, tenant: 'alpha' })
    expect(() => new Webhook(SECRETS.beta).verify(forged.body, headersOf(forged))).toThrow(
      /No matching signature/,
    )
    // And a body altered in transit does not verify with the right secret either.
    const altered = forged.body.replace('"failed"', '"succeeded"')
    expect(() => new Webhook(SECRETS.alpha).verify(altered, headersOf(forged))).toThrow(
      /No matching signature/,
    )
  })

  it('while a tenant rotates (two secrets) its callback verifies with either', async () => {
    await callback('gamma', `${base}/gamma-hook`)
    const r = received.find((x) => x.path === '/gamma-hook') as Received
    expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(2)
    for (const secret of [SECRETS.gammaOld, SECRETS.gammaNew])
      expect(new Webhook(secret).verify(r.body, headersOf(r))).toMatchObject({ tenant: 'gamma' })
    expect(() => new Webhook(SECRETS.alpha).verify(r.body, headersOf(r))).toThrow()
  })

  it('last_error says what failed in terms a tenant can act on, never an address', async () => {
    const refused = await callback('alpha', `http://127.0.0.1:${closedPort}/cb`)
    expect(refused.record?.callback).toMatchObject({
      status: 'failed',
      last_error: 'the callback URL refused the connection',
    })
    const internal = await callback('alpha', 'https://db.internal.test/cb')
    expect(internal.record?.callback?.last_error).toBe(
      'the callback URL resolves to a private address, which is not allowed',
    )
    const unsigned = await callback('nobody', `${base}/nobody`)
    expect(unsigned.record?.callback?.last_error).toMatch(/no callback secret is configured/)
    expect(received.some((r) => r.path === '/nobody')).toBe(false)
    for (const r of [refused, internal, unsigned]) {
      const text = String(r.record?.callback?.last_error)
      expect(text).not.toMatch(/127\.0\.0\.1|10\.20\.30\.40|ECONN|:\d{2,5}/)
    }
  })
})
