import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createDurationModel, decodeWebhookSecret, sizeHintOf, unrestrictedPolicy } from '@ims-importer/core'
import { readBody } from '@ims-importer/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody, waitAllFinal, waitUntil } from './helpers/harness.js'
import { fullestWindow, maxInSlidingWindow } from './helpers/windows.js'

// The poll processor with the planner wired in: lost jobs, the expected finish on the record,
// the duration model learning from finished imports, and the target's job-status GET budget.

/** This file's own namespace; each test's simulator, intake and worker runtime are closed after it. */
const f = workerTestFile('poll-planning', afterEach)

/** A callback receiver on loopback; closed after the test. */
async function callbackServer(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = []
  const server: Server = createServer(async (req, res) => {
    bodies.push(await readBody(req))
    res.writeHead(200).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  f.closeLater(server, (s) => new Promise((r) => s.close(() => r(undefined))))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies }
}

describe('lost jobs', () => {
  it('an import whose job IMS no longer knows ends ims_job_lost within grace + one poll, frees its place and sends its callback', async () => {
    const graceMs = 1500
    const pollMs = 300
    const { t, intake, runtime } = await f.simRuntime(
      'lost',
      {
        lostJobGraceMs: graceMs,
        poll: { initialDelayMs: pollMs, factor: 1, maxDelayMs: pollMs, jitter: 0, planner: 'fixed' },
        sim: { initMs: 50, jobDurationMs: { min: 60_000, max: 60_000 } },
      },
      {
        // tenant-a (the harness's tenant) signs its callbacks with a Standard Webhooks secret.
        tenantPolicies: new Map([
          [
            'tenant-a',
            {
              ...unrestrictedPolicy('tenant-a'),
              callbackSecrets: [
                decodeWebhookSecret(
                  `whsec_${Buffer.from('poll-planning-test-callback-secret').toString('base64')}`,
                  'test',
                ),
              ],
            },
          ],
        ]),
        callback: { allowHttpLoopback: true },
      },
    )
    const hook = await callbackServer()
    const ids = await Promise.all(
      [1, 2, 3].map((i) => intake.create(t.target.name, systemBody(i), { callback_url: hook.url })),
    )
    await waitUntil(
      'all three running in IMS and seen running',
      async () => (await intake.records(ids)).every((r) => r.status === 'running'),
      15_000,
    )
    expect(await runtime.deps.inflight.count(t.target.name)).toBe(3)
    // IMS forgets every job (as a restarted simulator without its state does).
    t.sim.control.reset()
    const forgotAt = Date.now()

    const records = await waitAllFinal(intake, ids, 15_000)
    for (const r of records) {
      expect(r.status).toBe('failed')
      expect(r.error).toMatchObject({ source: 'service', code: 'ims_job_lost' })
      expect(r.error?.message).toContain('not found')
      const after = Date.parse(r.finished_at ?? '') - forgotAt
      // Not before the grace (counted from the last answer that knew the job, at most one poll
      // before IMS forgot it), and within the grace plus one poll (plus slack for a loaded host).
      expect(after).toBeGreaterThanOrEqual(graceMs - pollMs - 50)
      expect(after).toBeLessThan(graceMs + pollMs + 1500)
    }
    // The places went in the writes that made the imports final (core transition-import.lua).
    expect(await runtime.deps.inflight.count(t.target.name)).toBe(0)
    await waitUntil('three callbacks', async () => hook.bodies.length >= 3, 10_000)
    for (const body of hook.bodies) expect(JSON.parse(body)).toMatchObject({ status: 'failed' })
  })

  it('an import whose job IMS never answers for is polled on through the grace, counted from submit', async () => {
    const graceMs = 3000
    const { t, intake } = await f.simRuntime('never-known', {
      lostJobGraceMs: graceMs,
      poll: { initialDelayMs: 400, factor: 1, maxDelayMs: 400, jitter: 0, planner: 'fixed' },
      sim: { initMs: 50, jobDurationMs: { min: 60_000, max: 60_000 } },
    })
    const id = await intake.create(t.target.name, systemBody(1))
    await waitUntil(
      'the job exists in IMS',
      async () => t.sim.control.jobs().some((j) => j.marker === id),
      10_000,
      5,
    )
    // IMS forgets it before the first poll (400 ms after submit): no answer ever knew it.
    t.sim.control.reset()
    const [record] = await waitAllFinal(intake, [id], 15_000)
    expect(record?.error?.code).toBe('ims_job_lost')
    const afterSubmit = Date.parse(record?.finished_at ?? '') - Date.parse(record?.submitted_at ?? '')
    expect(afterSubmit).toBeGreaterThanOrEqual(graceMs - 50)
    expect(afterSubmit).toBeLessThan(graceMs + 400 + 1500)
    // Polled on meanwhile (every 400 ms), not given up at the first not-found.
    expect(t.sim.control.requestLog('getJob').length).toBeGreaterThanOrEqual(5)
  })
})

describe('planned polls', () => {
  it('show the expected finish while running and learn durations that later imports plan with', {
    timeout: 60_000,
  }, async () => {
    const { t, intake } = await f.simRuntime('plan', {
      poll: { initialDelayMs: 600, factor: 1.5, maxDelayMs: 3000, jitter: 0.1 },
      sim: { initMs: 50, jobDurationMs: { min: 2500, max: 2500 } },
    })
    const first = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) => intake.create(t.target.name, systemBody(i))),
    )
    const seen = new Map<string, { basis: string; at: number; estimatedAt: number }>()
    await waitUntil(
      'an expected finish on each running import',
      async () => {
        for (const r of await intake.records(first))
          if (r.status === 'running' && r.expected_finish && !seen.has(r.id))
            seen.set(r.id, {
              basis: r.expected_finish.basis,
              at: Date.parse(r.expected_finish.at),
              estimatedAt: Date.parse(r.expected_finish.estimated_at),
            })
        return seen.size === first.length
      },
      20_000,
      20,
    )
    const done = await waitAllFinal(intake, first, 20_000)
    for (const r of done) {
      expect(r.status).toBe('succeeded')
      // An ended import expects nothing any more.
      expect(r.expected_finish ?? null).toBeNull()
      const e = seen.get(r.id)
      expect(e?.basis).toBe('progress')
      // The expectation, made from progress, lands near the end the import was seen at.
      const finishedAt = Date.parse(r.finished_at ?? '')
      expect(Math.abs((e?.at ?? 0) - finishedAt)).toBeLessThan(1500)
    }
    // Six successes of one size: the target's model knows how long such an import takes.
    const model = createDurationModel(intake.redis, f.ns)
    const size = sizeHintOf(done[0] as (typeof done)[0])
    // Each duration is recorded right after its import's final write (poll.ts learn).
    await waitUntil(
      'six durations learnt',
      async () => (await model.estimate(t.target.name, size))?.samples === 6,
      2000,
    )
    const estimate = await model.estimate(t.target.name, size)
    expect(estimate?.samples).toBe(6)
    expect(estimate?.medianMs).toBeGreaterThan(2000)
    expect(estimate?.medianMs).toBeLessThan(3500)

    // A later, longer import: its first poll is planned from the history (about when such an
    // import ends), finds it running, and plans on with history as well as progress.
    t.sim.control.setSpeed({ jobDurationMs: { min: 5000, max: 5000 } })
    const later = await intake.create(t.target.name, systemBody(7))
    let basis: string | undefined
    await waitUntil(
      'the later import running with an expectation',
      async () => {
        const [r] = await intake.records([later])
        basis = r?.expected_finish?.basis
        return basis !== undefined
      },
      20_000,
      20,
    )
    expect(basis).toBe('progress+history')
    await waitAllFinal(intake, [later], 20_000)
  })

  it("keeps the target's job-status GETs within its budget in every sliding second", async () => {
    const pollRate = 5
    const { t, intake, runtime } = await f.simRuntime('budget', {
      pollRate,
      poll: { initialDelayMs: 100, factor: 1, maxDelayMs: 200, jitter: 0.1, planner: 'fixed' },
      sim: { initMs: 50, jobDurationMs: { min: 3000, max: 3000 } },
    })
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => intake.create(t.target.name, systemBody(i + 1))),
    )
    await waitAllFinal(intake, ids, 60_000)
    const gets = t.sim.control.requestLog('getJob').map((e) => e.at)
    // 20 imports polled every 100-200 ms would want ~130 GETs a second; the budget is 5.
    expect(
      maxInSlidingWindow(gets, 1000),
      `fullest second: ${fullestWindow(gets, 1000).join(',')}`,
    ).toBeLessThanOrEqual(pollRate)
    const deferred = await runtime.deps.metrics.registry.getSingleMetricAsString(
      'ims_importer_poll_gate_total',
    )
    expect(deferred).toMatch(/decision="deferred"[^\n]* [1-9]/)
  })
})
