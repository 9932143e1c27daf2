import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createLogger,
  createRedis,
  decodeWebhookSecret,
  type ImportRecord,
  TargetConfig,
  unrestrictedPolicy,
} from '@ims-importer/core'
import { keysEverywhere, readBody, testKeys, uniqueName } from '@ims-importer/core/testing'
import { createWorkerRuntime, defaultWorkerConfig, type WorkerRuntime } from '@ims-importer/worker'
import { buildSimulator, type SimulatorOptions } from 'ims-simulator'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createLogCapture } from '../../src/input/log-capture.js'
import { startTestApi, type TestApi } from '../../src/input/test-api.js'

/** This file's own Redis namespace: files run side by side on one Redis. */
const ns = testKeys('secrets')

/*
 * Secrets never leak. A full run: the API and the worker in-process with every log line captured
 * (level trace), two simulators (one target with token auth, one with AK/SK), a third target
 * with a wrong password; imports that succeed, fail, get throttled, end uncertain (the connection
 * dropped after IMS created the image) and fail authentication, all with callbacks. Afterwards
 * none of the secret values appears in the logs, in any API answer, in the records, in anything
 * under the service's keys in Redis (BullMQ job data included), or in the callbacks sent.
 */
const S = {
  password: 'Pw-e2e-9f3Kq7zR1xLmQ',
  wrongPassword: 'WrongPw-e2e-4hT8sV2nW',
  ak: 'AKE2E7Q1W9ZX3C5V8B0NP',
  sk: 'SK-e2e-Lp0Ok9Ij8Uh7Yg6Tf5Rd',
  /** The tenants' callback secret (Standard Webhooks: whsec_ and base64). */
  hmac: 'whsec_aG1hYy1lMmUtc2VjcmV0LVpxNFdtOE52MkJ4Ni0wMTIz',
  apiKeyA: 'apikey-e2e-A-7yH3jK9lP2sD',
  apiKeyB: 'apikey-e2e-B-5tR1eW8qM4fG',
}

interface Sim {
  url: string
  counters(): ReturnType<ReturnType<typeof buildSimulator>['control']['counters']>
  close(): Promise<void>
}

/** A simulator on a free port whose issued IAM tokens (X-Subject-Token) are collected into `tokens`. */
async function startSim(options: SimulatorOptions, tokens: Set<string>): Promise<Sim> {
  const { app, control } = buildSimulator({ initMs: 50, jobDurationMs: { min: 100, max: 300 }, ...options })
  app.addHook('onSend', async (_req, reply, payload) => {
    const token = reply.getHeader('x-subject-token')
    if (typeof token === 'string') tokens.add(token)
    return payload
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    counters: () => control.counters(),
    close: () => app.close(),
  }
}

const target = (name: string, sim: Sim, auth: TargetConfig['auth']) =>
  TargetConfig.parse({
    name,
    imsEndpoint: sim.url,
    iamEndpoint: `${sim.url}/v3`,
    projectId: 'sim-project',
    auth,
    // The simulators allow 2 quick imports per second: these targets ask for more, so IMS throttles.
    limits: { submitRate: 10, submitWindowMs: 1000, pollRate: 100, maxInFlight: 20 },
    poll: { initialDelayMs: 150, factor: 1.5, maxDelayMs: 500, jitter: 0.1 },
  })

const body = (label: string, i: number, fail = false) => ({
  name: `${label}-${i}`,
  image_url: `e2e-bucket:disks/${fail ? `fail-img-0057-${label}-${i}` : `${label}-${i}`}.zvhd2`,
  os_version: 'CentOS 7.0 64bit',
  min_disk: 40,
})

describe('secrets never leak', () => {
  const tokens = new Set<string>()
  const apiLogs = createLogCapture()
  const workerLogs = createLogCapture()
  const answers: string[] = []
  const callbacks: {
    path: string
    headers: string
    body: string
    id: string
    timestamp: string
    signature: string
  }[] = []
  let simToken: Sim
  let simAksk: Sim
  let api: TestApi
  let runtime: WorkerRuntime
  let receiver: Server
  let redis: Redis
  const names = { tok: uniqueName('tok'), aksk: uniqueName('aksk'), bad: uniqueName('bad') }
  const tenants: [string, string] = [uniqueName('sa'), uniqueName('sb')]

  beforeAll(async () => {
    const redisUrl = inject('redisUrl')
    const rateLimits = { quickImport: { limit: 2, windowMs: 1000 } }
    // Connections dropped after the image was created: the uncertain case, settled by the marker tag.
    const faults = { resetAfterRate: 0.3, operations: ['quickImport' as const] }
    simToken = await startSim(
      {
        users: [{ name: 'e2e-user', password: S.password, domain: 'e2e-domain' }],
        rateLimits,
        faults,
        seed: 3,
      },
      tokens,
    )
    simAksk = await startSim({ credentials: [{ ak: S.ak, sk: S.sk }], rateLimits, faults, seed: 5 }, tokens)
    const targets = [
      target(names.tok, simToken, {
        type: 'token',
        username: 'e2e-user',
        password: S.password,
        domainName: 'e2e-domain',
      }),
      target(names.aksk, simAksk, { type: 'aksk', ak: S.ak, sk: S.sk }),
      target(names.bad, simToken, {
        type: 'token',
        username: 'e2e-user',
        password: S.wrongPassword,
        domainName: 'e2e-domain',
      }),
    ]

    receiver = createServer(async (req, res) => {
      const body = await readBody(req)
      callbacks.push({
        path: req.url ?? '',
        headers: JSON.stringify(req.headers),
        body,
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
      })
      res.writeHead(200).end()
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()))

    api = await startTestApi(redisUrl, ns, {
      tenants,
      apiKeys: `${tenants[0]}:${S.apiKeyA},${tenants[1]}:${S.apiKeyB}`,
      logs: apiLogs,
      config: {
        logLevel: 'trace',
        targets: [names.tok, names.aksk, names.bad],
        callbackPolicy: { allowPrivate: false, allowHttpLoopback: true },
      },
    })
    const base = defaultWorkerConfig({ redisUrl, targets, keyPrefix: ns.prefix })
    runtime = await createWorkerRuntime(
      {
        ...base,
        logLevel: 'trace',
        reconcilerEnabled: false,
        shutdownDeadlineMs: 5000,
        submit: {
          ...base.submit,
          retryBaseMs: 100,
          retryMaxMs: 1000,
          lookupSettleMs: 200,
          inflightWaitMs: 150,
          throttleBackoffMs: 300,
          authFailurePauseMs: 1000,
        },
        // Both tenants sign their callbacks with S.hmac (from a tenants file in production).
        tenantPolicies: new Map(
          tenants.map((t) => [
            t,
            { ...unrestrictedPolicy(t), callbackSecrets: [decodeWebhookSecret(S.hmac, 'test')] },
          ]),
        ),
        callback: {
          ...base.callback,
          allowHttpLoopback: true,
          attempts: 3,
          retryBaseMs: 200,
        },
      },
      {
        log: createLogger({ name: 'worker', level: 'trace' }, workerLogs.stream),
        reconciler: false,
        defaultMetrics: false,
      },
    )
    redis = createRedis(redisUrl)
  })

  afterAll(async () => {
    await runtime?.close()
    await api?.close()
    await simToken?.close()
    await simAksk?.close()
    await redis?.quit()
    await new Promise((r) => receiver?.close(r))
  })

  /** Every API call of the run goes through here, so every answer (status, headers, body) is kept. */
  async function call(
    method: 'GET' | 'POST',
    url: string,
    key: string | null,
    payload?: unknown,
    headers = {},
  ) {
    const res = await api.app.inject({
      method,
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      ...(payload === undefined
        ? {}
        : typeof payload === 'string'
          ? { payload }
          : { payload: payload as object }),
    })
    answers.push(`${method} ${url} ${res.statusCode} ${JSON.stringify(res.headers)} ${res.body}`)
    return { status: res.statusCode, json: () => res.json() as Record<string, unknown> }
  }

  it('a full run with token and AK/SK auth leaves no secret in logs, answers, records, Redis or callbacks', async () => {
    const cbBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
    const ids: string[] = []
    const create = async (label: string, target: string, i: number, fail = false) => {
      const res = await call('POST', '/v1/imports', S.apiKeyA, {
        ...body(label, i, fail),
        target,
        external_id: `${label}-${i}`,
        callback_url: `${cbBase}/cb/${label}-${i}`,
      })
      expect(res.status).toBe(202)
      ids.push(res.json().id as string)
    }
    for (let i = 0; i < 8; i++) {
      await create('tok', names.tok, i, i >= 6)
      await create('aksk', names.aksk, i, i >= 6)
    }
    for (let i = 0; i < 2; i++) await create('bad', names.bad, i)
    const batch = await call('POST', '/v1/batches', S.apiKeyB, {
      items: [
        body('btok', 1),
        { ...body('btok', 2), target: names.aksk },
        { name: 'x' },
        body('btok', 3),
        'nope',
      ],
    })
    expect(batch.status).toBe(202)
    const batchImports = batch.json().imports as { id: string }[]

    // Error answers of every kind, kept with the others.
    await call('GET', '/v1/imports', null)
    await call('GET', '/v1/imports', `${S.apiKeyA}x`)
    await call('GET', `/v1/imports/${ids[0]}`, S.apiKeyB)
    await call('POST', '/v1/imports', S.apiKeyA, { name: 'bad' })
    await call('POST', '/v1/imports', S.apiKeyA, 'x'.repeat(70_000), { 'content-type': 'application/json' })
    await call('POST', '/v1/imports', S.apiKeyA, 'a=b', { 'content-type': 'text/plain' })
    await call('POST', '/v1/imports', S.apiKeyA, '{"name":', { 'content-type': 'application/json' })
    await call('POST', '/v1/imports', S.apiKeyA, body('idem', 1), { 'idempotency-key': 'secret-run' })
    await call('POST', '/v1/imports', S.apiKeyA, body('idem', 2), { 'idempotency-key': 'secret-run' })
    await call('POST', '/v1/imports', S.apiKeyA, {
      ...body('x', 1),
      target: 'nowhere',
      callback_url: `https://u:${S.password}@example.com/`,
    })
    // Until every import is final, as a caller would watch it (A's one by one, B's through its batch).
    const FINAL = ['succeeded', 'failed', 'cancelled']
    const deadline = Date.now() + 60_000
    for (;;) {
      const statuses = await Promise.all(
        ids.map(async (id) => String((await call('GET', `/v1/imports/${id}`, S.apiKeyA)).json().status)),
      )
      const batchView = await call('GET', `/v1/batches/${batch.json().id}`, S.apiKeyB)
      const batchFinal = Object.entries(batchView.json().counts as Record<string, number>).every(
        ([status, n]) => n === 0 || FINAL.includes(status),
      )
      if (statuses.every((s) => FINAL.includes(s)) && batchFinal) break
      if (Date.now() > deadline) throw new Error(`not final: ${statuses.join(',')}`)
      await new Promise((r) => setTimeout(r, 300))
    }
    ids.push(...batchImports.map((i) => i.id))
    // A cancel of a finished import: a 409 answer too.
    await call('POST', `/v1/imports/${ids[0]}/cancel`, S.apiKeyA)
    await call('GET', '/v1/imports?limit=500', S.apiKeyA)
    await call('GET', '/v1/imports?limit=500', S.apiKeyB)

    const own = (await api.deps.store.getMany(ids)).filter((r): r is ImportRecord => r !== null)
    expect(own).toHaveLength(ids.length)
    // Callbacks for every import with a callback_url (the batch has none).
    const withCallback = own.filter((r) => r.callback_url)
    const cbDeadline = Date.now() + 20_000
    while (callbacks.length < withCallback.length && Date.now() < cbDeadline)
      await new Promise((r) => setTimeout(r, 100))

    // The run did what it says: successes, IMS failures, auth failures, throttling, uncertain submits, tokens.
    const byLabel = (label: string) => own.filter((r) => r.external_id?.startsWith(`${label}-`))
    expect(
      byLabel('tok')
        .map((r) => r.status)
        .sort(),
    ).toEqual([...Array(6).fill('succeeded'), 'failed', 'failed'].sort())
    expect(
      byLabel('aksk')
        .map((r) => r.status)
        .sort(),
    ).toEqual([...Array(6).fill('succeeded'), 'failed', 'failed'].sort())
    expect(byLabel('bad').map((r) => r.status)).toEqual(['failed', 'failed'])
    const counters = [simToken.counters(), simAksk.counters()]
    const answered = (status: string) =>
      counters.reduce((n, c) => n + (c.responses.quickImport?.[status] ?? 0), 0)
    expect(answered('429')).toBeGreaterThan(0)
    expect(answered('0')).toBeGreaterThan(0) // connections dropped after the create
    expect(counters[0]?.responses.auth?.['401'] ?? 0).toBeGreaterThan(0)
    expect(tokens.size).toBeGreaterThan(0)
    expect(callbacks.length).toBe(withCallback.length)
    // Standard Webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body> with the secret's bytes.
    const key = Buffer.from(S.hmac.slice('whsec_'.length), 'base64')
    for (const c of callbacks)
      expect(c.signature).toBe(
        `v1,${createHmac('sha256', key).update(`${c.id}.${c.timestamp}.${c.body}`).digest('base64')}`,
      )
    for (const c of counters) for (const n of Object.values(c.createsByMarker)) expect(n).toBe(1)

    // Everything under the service's keys in Redis: records, batches, idempotency, BullMQ queues and job data.
    const dump: string[] = []
    for (const key of await keysEverywhere(redis, `${ns.prefix}:*`)) {
      const type = await redis.type(key)
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? await redis.hgetall(key)
            : type === 'list'
              ? await redis.lrange(key, 0, -1)
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, 0, -1)
                  : type === 'stream'
                    ? await redis.xrange(key, '-', '+')
                    : null
      dump.push(`${key} ${JSON.stringify(value)}`)
    }
    expect(dump.some((d) => d.includes(`:submit-${names.tok}:`))).toBe(true)
    expect(dump.some((d) => d.includes(ids[0] as string))).toBe(true)

    const haystacks: Record<string, string> = {
      'API log': apiLogs.text(),
      'worker log': workerLogs.text(),
      'API answers': answers.join('\n'),
      records: JSON.stringify(own),
      Redis: dump.join('\n'),
      callbacks: JSON.stringify(callbacks),
    }
    // The captures are real: they hold the run.
    expect(apiLogs.lines.length).toBeGreaterThan(50)
    expect(workerLogs.lines.length).toBeGreaterThan(50)
    expect(haystacks['worker log']).toContain(names.aksk)

    const secrets: Record<string, string> = { ...S }
    for (const [i, t] of [...tokens].entries()) secrets[`IAM token ${i}`] = t
    const leaks: string[] = []
    for (const [where, text] of Object.entries(haystacks))
      for (const [what, secret] of Object.entries(secrets)) {
        const at = text.indexOf(secret)
        if (at >= 0)
          leaks.push(
            `${what} in ${where}: ...${text.slice(Math.max(0, at - 120), at + secret.length + 40)}...`,
          )
      }
    expect(leaks, leaks.join('\n\n')).toEqual([])
  })
})
