import { uniqueName } from '@ims-importer/core/testing'
import { type RunningSimulator, startSimulator } from 'ims-simulator'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createImsClient,
  type ImsAuth,
  type ImsClient,
  type ImsClientOptions,
  type ImsJob,
} from '../src/index.js'
import { caught } from './caught.js'
import { SIM_AKSK, SIM_AKSK_AUTH, SIM_TOKEN_AUTH } from './sim-auth.js'

// The client against the IMS simulator, which implements IMS, IAM and the gateway independently
// from the same reference: a rule either side got wrong shows up here.

// A second pair for tampering, so failed attempts never lock the pair the other tests use.
const SPARE_AKSK = { ak: 'SIMAK0000000000000002', sk: 'spare-secret-key' }

let sim: RunningSimulator
const clients: ImsClient[] = []

beforeAll(async () => {
  sim = await startSimulator({
    credentials: [SIM_AKSK, SPARE_AKSK],
    initMs: 30,
    jobDurationMs: { min: 100, max: 200 },
    seed: 7,
  })
})
afterAll(() => sim.close())
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  sim.control.setFaults({})
  sim.control.setRateLimits({})
})

function client(
  auth: ImsAuth,
  overrides: Partial<ImsClientOptions> = {},
  target: RunningSimulator = sim,
): ImsClient {
  const c = createImsClient({
    imsEndpoint: target.url,
    iamEndpoint: `${target.url}/v3`,
    projectId: 'sim-project',
    auth,
    timeouts: { connectMs: 2_000, requestMs: 5_000 },
    ...overrides,
  })
  clients.push(c)
  return c
}

function importBody(marker: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `ims-client-${marker}`.slice(0, 128),
    description: 'Create an image using a file in the OBS bucket.',
    image_url: 'ims-image:centos70.zvhd2',
    os_version: 'CentOS 7.0 64bit',
    min_disk: 40,
    type: 'ECS',
    image_tags: [{ key: 'ims_importer_id', value: marker }],
    ...overrides,
  }
}

function newMarker(): string {
  return uniqueName('m')
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 43)
}

async function waitForEnd(c: ImsClient, jobId: string): Promise<ImsJob> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const job = await c.getJob(jobId)
    if (job.status === 'SUCCESS' || job.status === 'FAIL' || Date.now() > deadline) return job
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.each([
  ['token', SIM_TOKEN_AUTH],
  ['aksk', SIM_AKSK_AUTH],
] as const)('with %s auth', (_label, auth) => {
  it('imports, follows the job to SUCCESS and finds the image by its marker tag', async () => {
    const seen: Array<{ operation: string; status: number | null }> = []
    const c = client(auth, { onResponse: (i) => seen.push({ operation: i.operation, status: i.status }) })
    const marker = newMarker()
    const { jobId } = await c.quickImport(importBody(marker))
    expect(jobId).toMatch(/^[0-9a-f]{32}$/)

    const job = await waitForEnd(c, jobId)
    expect(job).toMatchObject({ job_id: jobId, status: 'SUCCESS', error_code: null, fail_reason: null })
    expect(job.job_type).toBe('imsImportImageJob')
    expect(job.image_id).toEqual(expect.any(String))

    const { images } = await c.listImages({ tag: `ims_importer_id=${marker}` })
    expect(images.map((i) => i.id)).toEqual([job.image_id])
    expect(images[0]).toMatchObject({ status: 'active', name: `ims-client-${marker}` })
    expect(images[0]?.tags).toContain(`ims_importer_id.${marker}`)
    expect(seen.filter((s) => s.operation === 'auth')).toHaveLength(auth.type === 'token' ? 1 : 0)
    expect(seen.every((s) => s.status !== null && s.status < 300)).toBe(true)
  })

  it('reports a job that IMS fails, with its error code', async () => {
    const c = client(auth)
    const { jobId } = await c.quickImport(
      importBody(newMarker(), { image_url: 'ims-image:disks/fail-img-0057.zvhd2' }),
    )
    const job = await waitForEnd(c, jobId)
    expect(job).toMatchObject({ status: 'FAIL', error_code: 'IMG.0057' })
    expect(job.fail_reason).toEqual(expect.any(String))
  })

  it('classifies an invalid body as permanent, with the IMS code', async () => {
    const err = await caught(client(auth).quickImport(importBody(newMarker(), { min_disk: 0 })))
    expect(err).toMatchObject({ kind: 'permanent', status: 400, operation: 'quickImport' })
    expect(err.code).toMatch(/^IMG\.\d{4}$/)
    expect(err.requestId).toEqual(expect.any(String))
  })

  it('classifies gateway rate limiting and a 429 storm as throttled', async () => {
    const c = client(auth)
    sim.control.reset() // the sliding window would otherwise count earlier tests' listings
    sim.control.setRateLimits({ listImages: { limit: 2, windowMs: 60_000 } })
    await c.listImages({ limit: 1 })
    await c.listImages({ limit: 1 })
    const limited = await caught(c.listImages({ limit: 1 }))
    expect(limited).toMatchObject({ kind: 'throttled', status: 429, code: 'APIG.0308' })
    sim.control.setRateLimits({})
    sim.control.setFaults({ throttleRate: 1, operations: ['quickImport'] })
    const storm = await caught(c.quickImport(importBody(newMarker())))
    expect(storm).toMatchObject({ kind: 'throttled', status: 429 })
  })

  it('classifies injected 500/503 answers as transient', async () => {
    const c = client(auth)
    sim.control.setFaults({ errorRate: 1, operations: ['getJob', 'quickImport'] })
    const poll = await caught(c.getJob('0123456789abcdef0123456789abcdef'))
    expect(poll.kind).toBe('transient')
    expect([500, 503]).toContain(poll.status)
    const submit = await caught(c.quickImport(importBody(newMarker())))
    expect(submit.kind).toBe('transient')
  })

  it('makes a connection reset after processing uncertain, and the marker finds the created image', async () => {
    const c = client(auth)
    const marker = newMarker()
    sim.control.setFaults({ resetAfterRate: 1, operations: ['quickImport'] })
    const err = await caught(c.quickImport(importBody(marker)))
    expect(err).toMatchObject({ kind: 'uncertain', status: null, operation: 'quickImport' })
    sim.control.setFaults({})
    const { images } = await c.listImages({ tag: `ims_importer_id=${marker}` })
    expect(images).toHaveLength(1)
    expect(sim.control.counters().createsByMarker[marker]).toBe(1)
  })

  it('makes a reset before processing uncertain too, and the marker then finds nothing', async () => {
    const c = client(auth)
    const marker = newMarker()
    sim.control.setFaults({ resetBeforeRate: 1, operations: ['quickImport'] })
    expect((await caught(c.quickImport(importBody(marker)))).kind).toBe('uncertain')
    sim.control.setFaults({})
    expect((await c.listImages({ tag: `ims_importer_id=${marker}` })).images).toEqual([])
  })

  it('makes a malformed 200 uncertain for the submit and transient for a poll', async () => {
    const c = client(auth)
    const { jobId } = await c.quickImport(importBody(newMarker()))
    const marker = newMarker()
    sim.control.setFaults({ malformedJsonRate: 1, operations: ['quickImport', 'getJob'] })
    const submit = await caught(c.quickImport(importBody(marker)))
    expect(submit).toMatchObject({ kind: 'uncertain', status: 200 })
    const poll = await caught(c.getJob(jobId))
    expect(poll).toMatchObject({ kind: 'transient', status: 200 })
    sim.control.setFaults({})
    expect((await c.listImages({ tag: `ims_importer_id=${marker}` })).images).toHaveLength(1)
  })
})

describe('auth failures', () => {
  it('reports a wrong password as auth, without the password', async () => {
    const err = await caught(client({ ...SIM_TOKEN_AUTH, password: 'wrong-Passw0rd-xyz' }).listImages({}))
    expect(err).toMatchObject({ kind: 'auth', status: 401, operation: 'auth' })
    expect(err.message).not.toContain('wrong-Passw0rd-xyz')
  })

  it('reports a tampered SK as auth (APIG.0301), without the SK', async () => {
    const err = await caught(
      client({ type: 'aksk', ak: SPARE_AKSK.ak, sk: 'tampered-secret-key' }).listImages({}),
    )
    expect(err).toMatchObject({ kind: 'auth', status: 401, code: 'APIG.0301', operation: 'listImages' })
    expect(err.message).not.toContain('tampered-secret-key')
  })

  it('reports an unknown AK as auth', async () => {
    const err = await caught(client({ type: 'aksk', ak: 'SIMAKUNKNOWN', sk: 'x-secret' }).getJob('abc'))
    expect(err).toMatchObject({ kind: 'auth', status: 401 })
  })
})

describe('token expiry during a run', () => {
  let shortLived: RunningSimulator
  beforeAll(async () => {
    shortLived = await startSimulator({ tokenTtlMs: 600, initMs: 20, jobDurationMs: { min: 50, max: 100 } })
  })
  afterAll(() => shortLived.close())

  it.each([
    ['the default 1 h margin (refresh at half-life)', undefined],
    ['no margin (refresh exactly at expires_at)', 0],
  ])('keeps every call succeeding with %s', async (_label, margin) => {
    const statuses: Array<number | null> = []
    const c = client(
      SIM_TOKEN_AUTH,
      { tokenRefreshMarginMs: margin, onResponse: (i) => statuses.push(i.status) },
      shortLived,
    )
    const started = Date.now()
    let calls = 0
    while (Date.now() - started < 2_000) {
      const { jobId } = await c.quickImport(importBody(newMarker()))
      await c.getJob(jobId)
      calls += 2
      await new Promise((r) => setTimeout(r, 40))
    }
    expect(calls).toBeGreaterThan(10)
    const authCalls = shortLived.control.counters().requests.auth ?? 0
    expect(authCalls).toBeGreaterThanOrEqual(3)
    shortLived.control.reset()
  })
})

describe('a token IMS stops accepting', () => {
  it('is replaced once and the call retried, without a failed call', async () => {
    // A restarted simulator knows none of the tokens issued before: like IAM revoking them (§4a).
    const first = await startSimulator()
    const port = Number(new URL(first.url).port)
    const statuses: Array<[string, number | null]> = []
    const c = client(SIM_TOKEN_AUTH, { onResponse: (i) => statuses.push([i.operation, i.status]) }, first)
    await c.listImages({ limit: 1 })
    await first.close()
    const second = await startSimulator({ port })
    try {
      await expect(c.listImages({ limit: 1 })).resolves.toEqual({ images: [] })
      expect(statuses).toEqual([
        ['auth', 201],
        ['listImages', 200],
        ['listImages', 401],
        ['auth', 201],
        ['listImages', 200],
      ])
    } finally {
      await second.close()
    }
  })
})
