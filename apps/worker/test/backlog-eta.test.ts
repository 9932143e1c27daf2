import {
  createDurationModel,
  type ExpectedFinish,
  expectedBatchFinish,
  jobIds,
  TargetConfig,
} from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { bindBacklogEta, scheduleQueued } from '../src/backlog-eta.js'
import { createInflight } from '../src/inflight.js'
import { workerTestFile } from './helpers/fixtures.js'

// ims_importer_backlog_expected_finish_seconds{target} on the real Redis: records, in-flight set,
// submit queue and duration model written as the API and the worker write them.

const MIN = 60_000
const file = workerTestFile('backlog-eta')
const iso = (ms: number) => new Date(ms).toISOString()

const target = (places: number) =>
  TargetConfig.parse({
    name: uniqueName('bl'),
    imsEndpoint: 'http://127.0.0.1:9',
    iamEndpoint: 'http://127.0.0.1:9/v3',
    projectId: 'p',
    auth: { type: 'token', username: 'u', password: 'p', domainName: 'd' },
    limits: { maxInFlight: places },
  })

const finishAt = (at: number): ExpectedFinish => ({
  at: iso(at),
  p10_at: iso(at - MIN),
  p90_at: iso(at + MIN),
  basis: 'progress',
  estimated_at: iso(at - 10 * MIN),
})

/** A backlog fixture: `queued` imports, and running ones with or without an expected finish. */
async function backlog(t: TargetConfig, running: (number | null)[], queued: number, submittedAt?: number) {
  const intake = file.intake()
  const inflight = createInflight(intake.redis, file.ns)
  for (const end of running) {
    const id = await intake.create(t.name, { name: 'x', min_disk: 40 })
    // Submitted: the worker took its submit job and a place.
    await intake.queues.submit(t.name).remove(jobIds.submit(id))
    await inflight.add(t.name, [id])
    await intake.store.transition(id, 'submitting')
    await intake.store.transition(id, 'submitted', {
      submitted_at: iso(submittedAt ?? Date.now()),
      ims: { job_id: `job-${id}` },
    })
    await intake.store.transition(id, 'running', end === null ? {} : { expected_finish: finishAt(end) })
  }
  for (let i = 0; i < queued; i++) await intake.create(t.name, { name: 'q', min_disk: 40 })
  return { intake, inflight }
}

async function gauge(targets: TargetConfig[], now: () => number, cacheMs?: number) {
  const intake = file.intake()
  const registry = new Registry()
  const g = bindBacklogEta(
    registry,
    {
      redis: intake.redis,
      keys: file.ns,
      queues: intake.queues,
      inflight: createInflight(intake.redis, file.ns),
      targets,
    },
    { now, ...(cacheMs === undefined ? {} : { cacheMs }) },
  )
  return async () => {
    const { values } = await g.get()
    return Object.fromEntries(values.map((v) => [v.labels.target, v.value]))
  }
}

const learn = async (t: TargetConfig, ms: number, gb: number | null = null) => {
  const model = createDurationModel(file.redis(), file.ns)
  for (let i = 0; i < 5; i++) await model.record(t.name, gb === null ? null : { kind: 'disk-gb', gb }, ms)
}

describe('ims_importer_backlog_expected_finish_seconds', () => {
  it('is 0 for a target with no backlog', async () => {
    const t = target(2)
    const read = await gauge([t], Date.now)
    expect(await read()).toEqual({ [t.name]: 0 })
  })

  it('schedules the queued imports on the places the running ones free', async () => {
    const t = target(2)
    const t0 = Date.now()
    await learn(t, 30 * MIN)
    await backlog(t, [t0 + 10 * MIN, t0 + 20 * MIN], 3)
    const read = await gauge([t], () => t0)
    // Queued three start at +10, +20 and +40 min, 30 min each: the last ends at +70 min.
    expect(await read()).toEqual({ [t.name]: 70 * 60 })
  })

  it('without a planned end, takes submit + the median at the import size; absent while nothing is known', async () => {
    const t = target(4)
    const t0 = Date.now()
    await backlog(t, [null], 0, t0 - 5 * MIN)
    const read = await gauge([t], () => t0, 0)
    expect(await read()).toEqual({})
    await learn(t, 25 * MIN, 40)
    expect(await read()).toEqual({ [t.name]: 20 * 60 })
  })

  it('is a lower bound from what is known: queued imports without history add nothing', async () => {
    const t = target(2)
    const t0 = Date.now()
    await backlog(t, [t0 + 15 * MIN], 4)
    const read = await gauge([t], () => t0)
    expect(await read()).toEqual({ [t.name]: 15 * 60 })
  })

  it('is computed at most once per cacheMs; between, only the clock moves it', async () => {
    const t = target(1)
    const t0 = Date.now()
    await learn(t, 10 * MIN)
    const { intake } = await backlog(t, [t0 + 10 * MIN], 1)
    let now = t0
    const read = await gauge([t], () => now, 15_000)
    expect(await read()).toEqual({ [t.name]: 20 * 60 })
    await intake.create(t.name, { name: 'late', min_disk: 40 })
    now = t0 + 5_000
    expect(await read()).toEqual({ [t.name]: 20 * 60 - 5 })
    now = t0 + 15_000
    // Recomputed: one more queued import of 10 min on the single place.
    expect(await read()).toEqual({ [t.name]: 30 * 60 - 15 })
  })

  it('stays bounded for a huge queue: simulated up to 10,000, then one median per round of places', () => {
    const now = 0
    const running = Array.from({ length: 40 }, (_, i) => (i + 1) * MIN)
    const exact = expectedBatchFinish({ now, running, queuedMs: Array(30_000).fill(30 * MIN), places: 40 })
    const bounded = scheduleQueued(now, running, 30_000, 30 * MIN, 40)
    expect(bounded.complete).toBe(true)
    expect(Math.abs((bounded.at as number) - (exact.at as number))).toBeLessThanOrEqual(30 * MIN)
  })
})
