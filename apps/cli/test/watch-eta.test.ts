import { createApiClient } from '@ims-importer/api-client'
import { createDurationModel, type ExpectedFinish } from '@ims-importer/core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createStateCounter } from '../src/commands/watch.js'
import { body, startApi, type Tenant, watchLines } from './helpers.js'

// `watch` against the real API: the expected finish of each running import and of the batch,
// written into the records as the worker's poll planner does.

const MIN = 60_000
let api: Awaited<ReturnType<typeof startApi>>
let tenant: Tenant

beforeAll(async () => {
  api = await startApi(inject('redisUrl'), 1)
  tenant = api.tenants[0] as Tenant
})
afterAll(async () => {
  await api?.close()
})

const iso = (ms: number) => new Date(ms).toISOString()
/** A clock time in UTC as watch writes it. */
const clock = (ms: number) =>
  iso(ms).slice(0, 10) === iso(Date.now()).slice(0, 10)
    ? iso(ms).slice(11, 16)
    : `${iso(ms).slice(0, 10)} ${iso(ms).slice(11, 16)}`

const finishAt = (at: number, halfMs: number): ExpectedFinish => ({
  at: iso(at),
  p10_at: iso(at - halfMs),
  p90_at: iso(at + halfMs),
  basis: 'progress+history',
  estimated_at: iso(Date.now()),
})

async function run(id: string, expected?: ExpectedFinish) {
  const { store } = api.deps
  await store.transition(id, 'submitting')
  await store.transition(id, 'submitted', { ims: { job_id: `job-${id}` } })
  await store.transition(id, 'running', expected ? { expected_finish: expected } : {})
}

describe('watch shows expected finishes', () => {
  it('of each running import and of the batch, then the summary once all are final', async () => {
    const client = createApiClient({ baseUrl: api.url, apiKey: tenant.key })
    // The target's history: 30 min per import of this size.
    const model = createDurationModel(api.deps.redis, api.deps.keys)
    for (let i = 0; i < 5; i++)
      await model.record(api.target, { kind: 'disk-gb', gb: body(0).min_disk }, 30 * MIN)

    const batch = (await client.createBatch({ items: [body(1), body(2), body(3)] })).value
    const single = (await client.createImport(body(4))).value
    const [a, b, c] = batch.imports.map((i) => i.id) as [string, string, string]
    const t0 = Date.now()
    await run(a, finishAt(t0 + 50 * MIN, 6 * MIN))
    await run(b, finishAt(t0 + 20 * MIN, 40_000))
    await run(single.id, finishAt(t0 + 10 * MIN, 3 * MIN))

    // The "worker" ends everything while watch sleeps.
    const { counts, lines } = await watchLines(client, [batch.id, single.id], async () => {
      for (const id of [a, b, single.id]) await api.deps.store.transition(id, 'succeeded')
      await api.deps.store.transition(c, 'cancelled')
    })
    expect(counts).toEqual({ succeeded: 3, cancelled: 1 })

    // Batch: c (queued, 30 min) takes a free place now and ends before a (+50); the single import ends at +10.
    expect(lines[0]).toBe(
      `progress: 0/4 final (0%) | queued 1, running 3 | rate -, ETA ${clock(t0 + 50 * MIN)}`,
    )
    expect(lines).toContain(`  running ${a} ETA ${clock(t0 + 50 * MIN)} (±6 min)`)
    expect(lines).toContain(`  running ${b} ETA ${clock(t0 + 20 * MIN)} (±40 s)`)
    expect(lines).toContain(`  running ${single.id} ETA ${clock(t0 + 10 * MIN)} (±3 min)`)
    expect(lines.at(-2)).toMatch(/^progress: 4\/4 final \(100%\) \| succeeded 3, cancelled 1 \| .*done$/)
  })

  it('says ≥ when the batch has an import with nothing known, and asks one request per open id', async () => {
    const real = createApiClient({ baseUrl: api.url, apiKey: tenant.key })
    const asked: string[] = []
    const client = {
      ...real,
      getBatch: (id: string, options?: Parameters<typeof real.getBatch>[1]) => {
        asked.push(`${id}?status=${options?.status}`)
        return real.getBatch(id, options)
      },
    }
    const batch = (await real.createBatch({ items: [body(5), body(6)] })).value
    const [a, b] = batch.imports.map((i) => i.id) as [string, string]
    const t0 = Date.now()
    await run(a, finishAt(t0 + 25 * MIN, 5 * MIN))
    await run(b)
    const sink = { write: () => {} }
    const { counts, eta } = await createStateCounter({ client, stdout: sink, stderr: sink }, [
      batch.id,
    ]).observe()
    expect(counts).toEqual({ running: 2 })
    expect(eta.finish).toEqual({ at: t0 + 25 * MIN, complete: false })
    expect(eta.running.map((r) => [r.id, r.expected_finish?.at ?? null])).toEqual([
      [a, iso(t0 + 25 * MIN)],
      [b, null],
    ])
    expect(asked).toEqual([`${batch.id}?status=running`])
  })
})
