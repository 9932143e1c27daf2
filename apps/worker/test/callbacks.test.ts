import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  decodeWebhookSecret,
  enqueueCallback,
  enqueueSubmit,
  type ImportPatch,
  jobIds,
  newId,
  PollJob,
  unrestrictedPolicy,
} from '@ims-importer/core'
import { readBody } from '@ims-importer/core/testing'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serviceError } from '../src/final-state.js'
import type { WorkerRuntime } from '../src/index.js'
import { workerTestFile } from './helpers/fixtures.js'
import { type Intake, type SimTarget, systemBody, waitAllFinal, waitUntil } from './helpers/harness.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('callbacks')

/** tenant-a's callback secret (Standard Webhooks), as its tenants-file entry would give it. */
const SECRET = 'whsec_Y2FsbGJhY2stc2VjcmV0LWZvci10ZXN0cy0wMTIzNDU2Nzg5'
const tenantPolicies = new Map([
  ['tenant-a', { ...unrestrictedPolicy('tenant-a'), callbackSecrets: [decodeWebhookSecret(SECRET, 'test')] }],
])

interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
}

/** Verifies a delivery as a receiver would (standardwebhooks); returns its payload. */
const verified = (r: Received) =>
  new Webhook(SECRET).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  })

describe('callbacks', () => {
  let t: SimTarget
  let intake: Intake
  let runtime: WorkerRuntime
  let server: Server
  let base: string
  const received: Received[] = []
  /** Status to answer per path, in order; then 200. */
  const script: Record<string, number[]> = {}

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req)
      const path = req.url ?? ''
      received.push({ path, headers: req.headers, body })
      if (path === '/redirect-out') {
        res.writeHead(307, { location: 'http://10.1.2.3/hook' }).end()
        return
      }
      const status = script[path]?.shift() ?? 200
      res.writeHead(status).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    ;({ t, intake, runtime } = await f.simRuntime(
      'cb',
      {},
      { tenantPolicies, callback: { allowHttpLoopback: true, retryBaseMs: 100, attempts: 4 } },
    ))
  })
  afterAll(async () => {
    await new Promise((r) => server?.close(r))
  })

  /** An import with a callback_url, moved straight to a final state; no callback job queued. */
  const finalWithCallback = async (
    path: string,
    final: { to: 'failed' | 'cancelled'; patch?: ImportPatch; reason: string },
    extra: { external_id?: string } = {},
  ) => {
    const id = newId('imp')
    await intake.store.create({
      id,
      tenant: 'tenant-a',
      target: t.target.name,
      request: systemBody(10),
      callback_url: `${base}${path}`,
      ...extra,
    })
    await intake.store.update(id, () => final)
    return id
  }
  /** A delivery's body is tenant-a's import `fields` in its final state (no error), signed as its receiver verifies. */
  const expectFinalState = (
    delivery: Received,
    fields: { id: string; status: string; external_id: string; image_id: string | null | undefined },
  ) => {
    expect(JSON.parse(delivery.body)).toEqual({
      tenant: 'tenant-a',
      target: t.target.name,
      error: null,
      ...fields,
    })
    expect(verified(delivery)).toEqual(JSON.parse(delivery.body))
  }
  /** Waits until the import's callback is delivered and recorded; the deliveries to `path`. */
  const deliveredTo = async (id: string, path: string) => {
    await waitUntil(
      `the callback of ${path} delivered and recorded`,
      async () => (await intake.store.get(id))?.callback?.status === 'delivered',
      10_000,
    )
    return received.filter((r) => r.path === path)
  }

  it('POSTs the final state with an HMAC signature, retrying until delivered', async () => {
    script['/ok'] = [500, 503]
    const id = await intake.create(t.target.name, systemBody(1), {
      callback_url: `${base}/ok`,
      external_id: 'ext-1',
    })
    const [record] = await waitAllFinal(intake, [id], 15_000)
    await waitUntil(
      'a delivered callback',
      async () => received.filter((r) => r.path === '/ok').length >= 3,
      10_000,
    )
    const deliveries = received.filter((r) => r.path === '/ok')
    expect(deliveries).toHaveLength(3)
    expectFinalState(deliveries[2] as Received, {
      id,
      status: 'succeeded',
      external_id: 'ext-1',
      image_id: record?.ims.image_id,
    })
    // The worker counts a delivery once the receiver's answer is back, a moment after the receiver
    // has the request: wait for the count, then check it exactly.
    const deliveryMetrics = () =>
      runtime.deps.metrics.registry.getSingleMetricAsString('ims_importer_callback_deliveries_total')
    await waitUntil(
      'the delivery counted',
      async () => /outcome="delivered"/.test(await deliveryMetrics()),
      5_000,
    )
    const metrics = await deliveryMetrics()
    expect(metrics).toMatch(/outcome="delivered"[^\n]*\} 1/)
    expect(metrics).toMatch(/outcome="retry"[^\n]*\} 2/)
    // The outcome is kept on the final record, which GET /v1/imports/{id} shows.
    await waitUntil(
      'the delivery recorded on the import',
      async () => (await runtime.deps.store.get(id))?.callback?.status === 'delivered',
      5_000,
    )
    const kept = await runtime.deps.store.get(id)
    expect(kept?.status).toBe('succeeded')
    expect(kept?.callback).toMatchObject({ status: 'delivered', attempts: 3, last_error: null })
    expect(kept?.callback?.delivered_at).toEqual(expect.any(String))
  })

  it('queues a callback again that a stopped worker lost between the final write and its enqueue', async () => {
    // What a worker killed right after writing the final state leaves: final, callback pending,
    // no callback job. Its poll or submit job then runs again (BullMQ hands a stalled job on).
    const lost = async (path: string) => {
      const id = await finalWithCallback(path, {
        to: 'failed',
        patch: { finished_at: new Date().toISOString(), error: serviceError('deadline_exceeded', 'test') },
        reason: 'test',
      })
      expect(await intake.queues.callback().getJob(jobIds.callback(id))).toBeFalsy()
      return id
    }
    const viaPoll = await lost('/lost-poll')
    const viaSubmit = await lost('/lost-submit')
    await intake.queues
      .poll(t.target.name)
      .add('poll', PollJob.parse({ importId: viaPoll }), { jobId: jobIds.poll(viaPoll) })
    await enqueueSubmit(intake.queues, t.target.name, viaSubmit)
    for (const [id, path] of [
      [viaPoll, '/lost-poll'],
      [viaSubmit, '/lost-submit'],
    ] as const) {
      const body = JSON.parse((await deliveredTo(id, path))[0]?.body ?? '{}')
      expect(body).toMatchObject({ id, status: 'failed', error: { code: 'deadline_exceeded' } })
    }
    // Once delivered, running the job again sends nothing more.
    await enqueueSubmit(intake.queues, t.target.name, viaSubmit)
    await waitUntil(
      'the repeated submit job done',
      async () => !(await intake.queues.submit(t.target.name).getJob(jobIds.submit(viaSubmit))),
      10_000,
    )
    await new Promise((r) => setTimeout(r, 200))
    expect(received.filter((r) => r.path === '/lost-submit')).toHaveLength(1)
  })

  it('tells the callback_url of a cancelled import, and never submits it', async () => {
    const cancelled = (path: string) =>
      finalWithCallback(
        path,
        { to: 'cancelled', reason: 'cancelled by the caller' },
        { external_id: `ext-${path.slice(1)}` },
      )
    const creates = t.sim.control.counters().totalCreates
    // As the API's cancel does it: the callback job queued (the submit job then removed).
    const viaApi = await cancelled('/cancel-api')
    await enqueueCallback(intake.queues, viaApi, { attempts: 4, retryBaseMs: 100 })
    // The API stopped (or lost Redis) before it could queue the callback: the submit job is left,
    // and the worker that reaches it queues the callback.
    const viaSubmit = await cancelled('/cancel-submit')
    await enqueueSubmit(intake.queues, t.target.name, viaSubmit)
    for (const [id, path] of [
      [viaApi, '/cancel-api'],
      [viaSubmit, '/cancel-submit'],
    ] as const) {
      const got = await deliveredTo(id, path)
      expect(got).toHaveLength(1)
      expectFinalState(got[0] as Received, {
        id,
        status: 'cancelled',
        external_id: `ext-${path.slice(1)}`,
        image_id: null,
      })
      expect((await intake.store.get(id))?.status).toBe('cancelled')
    }
    expect(t.sim.control.counters().totalCreates).toBe(creates)
  })

  it('refuses a callback to a non-public address, also after a redirect, without connecting there', async () => {
    const direct = await intake.create(t.target.name, systemBody(2), {
      callback_url: 'http://169.254.169.254/latest',
    })
    const redirected = await intake.create(t.target.name, systemBody(3), {
      callback_url: `${base}/redirect-out`,
    })
    await waitAllFinal(intake, [direct, redirected], 15_000)
    await waitUntil(
      'both callbacks refused',
      async () =>
        /outcome="rejected"[^\n]*\} 2/.test(
          await runtime.deps.metrics.registry.getSingleMetricAsString(
            'ims_importer_callback_deliveries_total',
          ),
        ),
      10_000,
    )
    // The redirect target was never called again; the link-local address never at all.
    expect(received.filter((r) => r.path === '/redirect-out')).toHaveLength(1)
  })
})
