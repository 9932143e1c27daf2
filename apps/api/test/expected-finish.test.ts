import { createDurationModel, type ExpectedFinish, expectedBatchFinish } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

// The expected finish of an import (its record's, written by the worker's poll planner) and of a
// batch (batch-finish.ts), written here through the store as the worker would.

const MIN = 60_000
const tenants = [uniqueName('ta'), uniqueName('tb')] as [string, string]
/** SMALL has 2 places and BIG the default cap (40), both with a history; EMPTY and LATE have none at first. */
const [SMALL, BIG, EMPTY, LATE] = ['t1', 't2', 't3', 't4'].map(uniqueName) as [string, string, string, string]
const A = tenants[0]
let api: TestApi

beforeAll(async () => {
  api = await startTestApi(
    inject('redisUrl'),
    { targets: [SMALL, BIG, EMPTY, LATE], places: { [SMALL]: 2 } },
    undefined,
    { tenants, targets: [SMALL, BIG] },
  )
  await learn(SMALL, 30 * MIN)
  await learn(BIG, 12 * MIN)
})
afterAll(async () => {
  await api?.close()
})

const iso = (ms: number) => new Date(ms).toISOString()

/** What the poll planner writes: an end at `at`, a range of ±`spreadMs`. */
const finishAt = (at: number, spreadMs = 5 * MIN): ExpectedFinish => ({
  at: iso(at),
  p10_at: iso(at - spreadMs),
  p90_at: iso(at + spreadMs),
  basis: 'progress+history',
  estimated_at: iso(Date.now()),
})

/** Moves a queued import to running as the worker does; with `expected`, as a poll that planned. */
async function run(id: string, expected?: ExpectedFinish | null) {
  const { store } = api.deps
  await store.transition(id, 'submitting')
  await store.transition(id, 'submitted', { submitted_at: iso(Date.now()), ims: { job_id: `job-${id}` } })
  return store.transition(id, 'running', {
    ims: { job_status: 'RUNNING', progress: 40 },
    ...(expected === undefined ? {} : { expected_finish: expected }),
  })
}

async function postBatch(n: number, target: string, extra: Record<string, unknown> = {}) {
  const items = Array.from({ length: n }, (_, i) => ({
    ...PAGE_EXAMPLE,
    target,
    external_id: `e-${i}`,
    ...extra,
  }))
  const res = await api.post('/v1/batches', A, { items })
  expect(res.statusCode, res.body).toBe(202)
  return res.json() as { id: string; imports: { index: number; id: string }[] }
}

const getBatch = async (id: string, query = '') => {
  const res = await api.app.inject({ url: `/v1/batches/${id}${query}`, headers: api.auth(A) })
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

/** `n` finished imports of `ms` each on `target` at min_disk `gb`: the duration model's history. */
async function learn(target: string, ms: number, n = 5, gb: number = PAGE_EXAMPLE.min_disk) {
  const model = createDurationModel(api.deps.redis, api.deps.keys)
  for (let i = 0; i < n; i++) await model.record(target, { kind: 'disk-gb', gb }, ms)
}

describe('GET /v1/imports/{id}: expected_finish', () => {
  it('shows the expected finish the worker wrote, null before and once final', async () => {
    const created = await api.post('/v1/imports', A, { ...PAGE_EXAMPLE, target: BIG })
    const { id } = created.json()
    expect(created.json().expected_finish).toBeNull()
    const get = async () => (await api.app.inject({ url: `/v1/imports/${id}`, headers: api.auth(A) })).json()
    expect((await get()).expected_finish).toBeNull()

    const expected = finishAt(Date.now() + 20 * MIN)
    await run(id, expected)
    const view = await get()
    expect(view.status).toBe('running')
    expect(view.expected_finish).toEqual(expected)

    await api.deps.store.transition(id, 'succeeded', { ims: { job_status: 'SUCCESS' } })
    expect((await get()).expected_finish).toBeNull()
  })

  it('is documented in the OpenAPI document, with a description of each field', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json()
    const schemas = doc.components.schemas
    const ref = JSON.stringify(schemas.Import.properties.expected_finish)
    expect(ref).toContain('ExpectedFinish')
    expect(schemas.Import.required).toContain('expected_finish')
    const ef = schemas.ExpectedFinish
    expect(ef.description).toMatch(/expected to end/)
    for (const field of ['at', 'p10_at', 'p90_at', 'basis', 'estimated_at'])
      expect(ef.properties[field].description, field).toBeTruthy()
    expect(JSON.stringify(schemas.Batch.properties.expected_finish)).toContain('BatchExpectedFinish')
    expect(schemas.BatchExpectedFinish.properties.complete.description).toMatch(/lower bound/)
    const params = doc.paths['/v1/batches/{id}'].get.parameters.map((p: { name: string }) => p.name)
    expect(params).toEqual(expect.arrayContaining(['limit', 'cursor', 'status']))
  })
})

describe('GET /v1/batches/{id}: expected_finish', () => {
  it('schedules the queued imports on the places the running ones free (known: complete)', async () => {
    const batch = await postBatch(5, SMALL)
    const [a, b] = batch.imports
    const t0 = Date.now()
    await run(a?.id as string, finishAt(t0 + 10 * MIN))
    await run(b?.id as string, finishAt(t0 + 20 * MIN))

    const view = await getBatch(batch.id)
    // 2 places: the queued three start at +10, +20 and +40 min, 30 min each; the last ends at +70.
    expect(view.expected_finish).toEqual({ at: iso(t0 + 70 * MIN), complete: true })
    expect(view.items[0].expected_finish).toMatchObject({
      at: iso(t0 + 10 * MIN),
      p10_at: iso(t0 + 5 * MIN),
      p90_at: iso(t0 + 15 * MIN),
    })
    expect(view.items[2].expected_finish).toBeNull()
  })

  it('is a lower bound (complete: false) when a running import has no expectation yet', async () => {
    const batch = await postBatch(3, SMALL)
    const [a, b, c] = batch.imports
    const t0 = Date.now()
    await run(a?.id as string, finishAt(t0 + 45 * MIN))
    await run(b?.id as string) // submitted and polled, nothing known yet
    await api.deps.store.transition(c?.id as string, 'cancelled')
    const view = await getBatch(batch.id)
    expect(view.expected_finish).toEqual({ at: iso(t0 + 45 * MIN), complete: false })
  })

  it('is a lower bound when queued imports have no history for their target', async () => {
    const batch = await postBatch(3, EMPTY)
    const t0 = Date.now()
    await run(batch.imports[0]?.id as string, finishAt(t0 + 15 * MIN))
    const view = await getBatch(batch.id)
    expect(view.expected_finish).toEqual({ at: iso(t0 + 15 * MIN), complete: false })
  })

  it("is a lower bound while a queued import waits for its target's paused submissions", async () => {
    const batch = await postBatch(2, BIG)
    const [a, b] = batch.imports
    const t0 = Date.now()
    await run(a?.id as string, finishAt(t0 + 40 * MIN))
    expect((await getBatch(batch.id)).expected_finish).toEqual({ at: iso(t0 + 40 * MIN), complete: true })
    await api.deps.store.transition(b?.id as string, 'queued', {
      waiting: { reason: 'image_quota', code: 'IMG.0015', message: 'quota reached', since: iso(t0) },
    })
    expect((await getBatch(batch.id)).expected_finish).toEqual({ at: iso(t0 + 40 * MIN), complete: false })
  })

  it('is null when nothing is known, and once every import is final', async () => {
    const batch = await postBatch(2, LATE)
    expect((await getBatch(batch.id)).expected_finish).toBeNull()
    const [a, b] = batch.imports
    await run(a?.id as string)
    expect((await getBatch(batch.id)).expected_finish).toBeNull()

    await learn(LATE, 12 * MIN)
    const known = await getBatch(batch.id)
    expect(known.expected_finish.complete).toBe(false) // the running one is still unknown
    expect(Date.parse(known.expected_finish.at)).toBeGreaterThanOrEqual(Date.now() + 11 * MIN)

    await api.deps.store.transition(a?.id as string, 'succeeded')
    await api.deps.store.transition(b?.id as string, 'cancelled')
    expect((await getBatch(batch.id)).expected_finish).toBeNull()
  })

  it('uses the duration of each import size (min_disk) from the model', async () => {
    await learn(BIG, 90 * MIN, 5, 500)
    const batch = await postBatch(1, BIG, { min_disk: 500 })
    const t0 = Date.now()
    const view = await getBatch(batch.id)
    const at = Date.parse(view.expected_finish.at)
    expect(view.expected_finish.complete).toBe(true)
    expect(at).toBeGreaterThanOrEqual(t0 + 90 * MIN)
    expect(at).toBeLessThan(Date.now() + 90 * MIN + 1000)
  })

  it('sizes a queued import by its file once the pre-flight read it, as the worker does, not by min_disk', async () => {
    const GIB = 2 ** 30
    const model = createDurationModel(api.deps.redis, api.deps.keys)
    // LATE's history: min_disk imports take 12 min; files of 10 GiB take 50 min.
    for (let i = 0; i < 5; i++) {
      await model.record(LATE, { kind: 'disk-gb', gb: PAGE_EXAMPLE.min_disk }, 12 * MIN)
      await model.record(LATE, { kind: 'file-bytes', bytes: 10 * GIB }, 50 * MIN)
    }
    const batch = await postBatch(1, LATE)
    const finish = async () => Date.parse((await getBatch(batch.id)).expected_finish.at)
    const t0 = Date.now()
    const byDisk = await finish()
    expect(byDisk).toBeGreaterThanOrEqual(t0 + 12 * MIN)
    expect(byDisk).toBeLessThan(Date.now() + 12 * MIN + 1000)
    // The pre-flight writes the file onto the queued record (the worker's write, here through the store).
    const id = batch.imports[0]?.id as string
    await api.deps.store.update(id, () => ({
      to: 'queued',
      patch: {
        file: {
          size_bytes: 10 * GIB,
          storage_class: 'STANDARD',
          region: 'eu-de',
          checked_at: iso(Date.now()),
        },
      },
    }))
    const t1 = Date.now()
    const byFile = await finish()
    expect(byFile).toBeGreaterThanOrEqual(t1 + 50 * MIN)
    expect(byFile).toBeLessThan(Date.now() + 50 * MIN + 1000)
  })

  it('ends with its last target, each target scheduled on its own places', async () => {
    const items = [
      ...Array.from({ length: 3 }, () => ({ ...PAGE_EXAMPLE, target: SMALL })),
      ...Array.from({ length: 2 }, () => ({ ...PAGE_EXAMPLE, target: BIG })),
    ]
    const res = await api.post('/v1/batches', A, { items })
    const batch = res.json() as { id: string; imports: { id: string }[] }
    const t0 = Date.now()
    await run(batch.imports[0]?.id as string, finishAt(t0 + 50 * MIN))
    await run(batch.imports[3]?.id as string, finishAt(t0 + 70 * MIN))
    // SMALL (2 places): its queued two start now and at +30 min (the free place), so it ends
    // at now + 60 min; BIG's queued one (12 min) ends before its running one, at +70 min.
    const early = await getBatch(batch.id)
    expect(early.expected_finish).toEqual({ at: iso(t0 + 70 * MIN), complete: true })
    // With BIG's running import at +20 min instead, SMALL's +60 is the batch's end.
    await api.deps.store.transition(batch.imports[3]?.id as string, 'running', {
      expected_finish: finishAt(t0 + 20 * MIN),
    })
    const now = Date.now()
    const at = Date.parse((await getBatch(batch.id)).expected_finish.at)
    const small = expectedBatchFinish({
      now,
      running: [t0 + 50 * MIN],
      queuedMs: [30 * MIN, 30 * MIN],
      places: 2,
    })
    expect(at).toBeGreaterThanOrEqual(t0 + 60 * MIN)
    expect(at).toBeLessThanOrEqual(Date.now() + 60 * MIN)
    expect(Math.abs(at - (small.at as number))).toBeLessThan(1000)
  })

  it('filters the items by status (?status=running), counts and expected finish stay whole', async () => {
    const batch = await postBatch(6, SMALL)
    const t0 = Date.now()
    for (const i of [1, 3, 4]) await run(batch.imports[i]?.id as string, finishAt(t0 + (i + 1) * MIN))
    const page1 = await getBatch(batch.id, '?status=running&limit=2')
    expect(page1.counts).toMatchObject({ queued: 3, running: 3 })
    expect(page1.items.map((i: { index: number }) => i.index)).toEqual([1, 3])
    expect(page1.items.map((i: { status: string }) => i.status)).toEqual(['running', 'running'])
    expect(page1.items[1].expected_finish.at).toBe(iso(t0 + 4 * MIN))
    expect(page1.next_cursor).toBe('3')
    expect(page1.expected_finish).toMatchObject({ complete: true })
    const page2 = await getBatch(batch.id, `?status=running&limit=2&cursor=${page1.next_cursor}`)
    expect(page2.items.map((i: { index: number }) => i.index)).toEqual([4])
    expect(page2.next_cursor).toBeNull()
    const queued = await getBatch(batch.id, '?status=queued')
    expect(queued.items.map((i: { index: number }) => i.index)).toEqual([0, 2, 5])
  })

  it('answers a bad status filter with problem+json', async () => {
    const batch = await postBatch(1, SMALL)
    const res = await api.app.inject({ url: `/v1/batches/${batch.id}?status=bogus`, headers: api.auth(A) })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toContain('application/problem+json')
  })

  it('stays cheap for a 1000-import batch: the same few Redis calls, whatever its size', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({
      ...PAGE_EXAMPLE,
      target: i % 2 === 0 ? SMALL : BIG,
      min_disk: 40 + (i % 7) * 100,
    }))
    const res = await api.post('/v1/batches', A, { items })
    expect(res.statusCode).toBe(202)
    const batch = res.json() as { id: string; imports: { id: string }[] }
    const t0 = Date.now()
    for (let i = 0; i < 40; i++) await run(batch.imports[i]?.id as string, finishAt(t0 + (i + 10) * MIN))

    const { redis } = api.deps
    // (pipeline() itself is not counted: auto-pipelining calls it for its own batches.)
    const names = ['get', 'mget', 'hgetall', 'zrangebyscore', 'zinter', 'lrange'] as const
    const spies = names.map((name) => [name, vi.spyOn(redis, name)] as const)
    const started = performance.now()
    const view = await getBatch(batch.id, '?limit=100')
    const ms = performance.now() - started
    const calls = Object.fromEntries(spies.map(([name, spy]) => [name, spy.mock.calls.length]))
    for (const [, spy] of spies) spy.mockRestore()

    expect(view.counts).toMatchObject({ queued: 960, running: 40 })
    expect(view.items).toHaveLength(100)
    expect(view.expected_finish.complete).toBe(true)
    // The batch, its counts, its page and the page's records; the open ids (ZINTERs in one
    // pipeline), their records (one MGET), the model's lists (LRANGEs in one pipeline).
    expect(calls).toEqual({ get: 1, mget: 2, hgetall: 1, zrangebyscore: 1, zinter: 0, lrange: 0 })
    const times = [ms]
    for (let i = 0; i < 5; i++) {
      const t = performance.now()
      await getBatch(batch.id, '?limit=100')
      times.push(performance.now() - t)
    }
    console.log(
      `batch view of 1000 imports (40 running, 960 queued), limit 100: ${times.map((t) => t.toFixed(1)).join(', ')} ms`,
    )
  }, 60_000)
})
