import { afterEach, describe, expect, it } from 'vitest'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody, waitAllFinal, waitUntil } from './helpers/harness.js'

/** This file's own namespace; each test's simulator, intake and worker runtime are closed after it. */
const f = workerTestFile('faults', afterEach)

describe('submit faults', () => {
  it('adopts the image after an uncertain POST (reset after processing) instead of creating it twice', async () => {
    const { t, intake } = await f.simRuntime('uncertain')
    t.sim.control.setFaults({ resetAfterRate: 1, operations: ['quickImport'] })
    const ids = [
      await intake.create(t.target.name, systemBody(1)),
      await intake.create(t.target.name, systemBody(2)),
    ]
    await waitUntil(
      'both POSTs processed by IMS',
      async () => t.sim.control.counters().totalCreates === 2,
      10_000,
    )
    t.sim.control.setFaults({})

    const records = await waitAllFinal(intake, ids, 20_000)
    for (const r of records) {
      expect(r.status).toBe('succeeded')
      expect(r.ims.adopted).toBe(true)
      expect(r.ims.image_id).toBeTruthy()
      expect(r.history.some((h) => h.reason?.includes('adopted'))).toBe(true)
    }
    const counters = t.sim.control.counters()
    expect(counters.totalCreates).toBe(2)
    for (const id of ids) expect(counters.createsByMarker[id]).toBe(1)
  })

  it('does not POST again while IMS may not list the image of an uncertain POST yet (SUBMIT_LOOKUP_SETTLE_MS)', async () => {
    // IMS lists the image of this POST only 1.5 s after it; the answer to the POST is lost.
    const uncertainThenLateListing = async (label: string, lookupSettleMs: number) => {
      const { t, intake } = await f.simRuntime(label, {}, { submit: { lookupSettleMs } })
      t.sim.control.setSpeed({ listingDelayMs: 1500 })
      t.sim.control.setFaults({ resetAfterRate: 1, operations: ['quickImport'] })
      const id = await intake.create(t.target.name, systemBody(1))
      await waitUntil(
        'the POST processed by IMS',
        async () => t.sim.control.counters().totalCreates >= 1,
        10_000,
      )
      t.sim.control.setFaults({})
      const [r] = await waitAllFinal(intake, [id], 20_000)
      return { r, creates: t.sim.control.counters().createsByMarker[id] }
    }
    // Settled past the listing delay: the lookups before it find nothing and wait; the one after
    // it finds the image, which is adopted. One image.
    const settled = await uncertainThenLateListing('settle', 2_500)
    expect(settled.r?.status).toBe('succeeded')
    expect(settled.r?.ims.adopted).toBe(true)
    expect(settled.r?.attempts.submit).toBe(1)
    expect(settled.creates).toBe(1)
    // The control: trusting the first empty lookup (no settle time) POSTs again and makes a
    // second image, which is what the settle time is for.
    const trusting = await uncertainThenLateListing('no-settle', 0)
    expect(trusting.creates).toBeGreaterThanOrEqual(2)
  })

  it('resubmits after a POST that never reached IMS (reset before processing), creating once', async () => {
    const { t, intake } = await f.simRuntime('reset-before')
    t.sim.control.setFaults({ resetBeforeRate: 1, operations: ['quickImport'] })
    const id = await intake.create(t.target.name, systemBody(1))
    await waitUntil(
      'a POST refused by a reset',
      async () => (t.sim.control.counters().responses.quickImport?.['0'] ?? 0) >= 1,
      10_000,
    )
    t.sim.control.setFaults({})
    const [r] = await waitAllFinal(intake, [id], 20_000)
    expect(r?.status).toBe('succeeded')
    expect(r?.ims.adopted).toBe(false)
    expect(r?.attempts.submit).toBeGreaterThanOrEqual(2)
    expect(t.sim.control.counters().createsByMarker[id]).toBe(1)
  })

  /** One import submitted while every POST answers 5xx, with 2 attempts and `retryWindowMs`. */
  async function duringOutage(label: string, retryWindowMs: number) {
    const s = await f.simRuntime(
      label,
      {},
      {
        submit: { maxAttempts: 2, retryWindowMs, retryBaseMs: 100, retryMaxMs: 300 },
      },
    )
    s.t.sim.control.setFaults({ errorRate: 1, operations: ['quickImport'] })
    return { ...s, id: await s.intake.create(s.t.target.name, systemBody(1)) }
  }

  it('rides out a 5xx outage longer than its attempts within the retry window, creating once', async () => {
    const { t, intake, id } = await duringOutage('outage', 10_000)
    await waitUntil(
      'more failed POSTs than attempts allowed',
      async () => (t.sim.control.counters().requests.quickImport ?? 0) >= 4,
      10_000,
    )
    t.sim.control.setFaults({})
    const [r] = await waitAllFinal(intake, [id], 20_000)
    expect(r?.status).toBe('succeeded')
    expect(r?.attempts.submit).toBeGreaterThanOrEqual(5)
    expect(t.sim.control.counters().createsByMarker[id]).toBe(1)
  })

  it('fails with submit_retries_exhausted once both its attempts and the retry window are spent', async () => {
    const { t, intake, id } = await duringOutage('exhausted', 2_000)
    const [r] = await waitAllFinal(intake, [id], 15_000)
    expect(r?.status).toBe('failed')
    expect(r?.error).toMatchObject({ source: 'service', code: 'submit_retries_exhausted' })
    // Not after its 2 attempts (about 0.2 s) but once the 2 s window had passed as well.
    const firstAttempt = Date.parse(r?.history.find((h) => h.status === 'submitting')?.at ?? '')
    expect(Date.parse(r?.finished_at ?? '') - firstAttempt).toBeGreaterThanOrEqual(2_000)
    expect(r?.attempts.submit).toBeGreaterThan(2)
    // Every attempt was one POST, answered 5xx (500 or 503), each after a look for the image.
    const c = t.sim.control.counters()
    expect(c.requests.quickImport).toBe(r?.attempts.submit)
    expect((c.responses.quickImport?.['500'] ?? 0) + (c.responses.quickImport?.['503'] ?? 0)).toBe(
      r?.attempts.submit,
    )
    expect(t.sim.control.counters().totalCreates).toBe(0)
  })

  it('fails on an authentication error with a clear reason, without a tight retry loop', async () => {
    const { t, intake } = await f.simRuntime('auth', {
      sim: { users: [{ name: 'sim-user', password: 'other', domain: 'sim-domain' }] },
    })
    const first = await intake.create(t.target.name, systemBody(1))
    const [r1] = await waitAllFinal(intake, [first], 10_000)
    // The next import of the target waits out the pause (2 s here) instead of failing at once.
    const second = await intake.create(t.target.name, systemBody(2))
    const [r2] = await waitAllFinal(intake, [second], 10_000)
    for (const r of [r1, r2]) {
      expect(r?.status).toBe('failed')
      expect(r?.error?.message).toMatch(/authentication/)
    }
    expect(Date.parse(r2?.finished_at ?? '') - Date.parse(r1?.finished_at ?? '')).toBeGreaterThanOrEqual(1500)
    expect(t.sim.control.counters().requests.auth ?? 0).toBeLessThanOrEqual(6)
    expect(t.sim.control.counters().totalCreates).toBe(0)
  })

  it('fails with throttled_too_long when IMS throttles longer than the bound, without counting attempts', async () => {
    const { t, intake } = await f.simRuntime('throttled', {}, { submit: { maxThrottledMs: 1500 } })
    t.sim.control.setFaults({ throttleRate: 1, operations: ['quickImport'] })
    const id = await intake.create(t.target.name, systemBody(1))
    const [r] = await waitAllFinal(intake, [id], 15_000)
    expect(r?.status).toBe('failed')
    expect(r?.error).toMatchObject({ source: 'service', code: 'throttled_too_long' })
    expect(r?.attempts.submit).toBe(0)
    expect(t.sim.control.counters().responses.quickImport?.['429']).toBeGreaterThan(1)
    expect(t.sim.control.counters().totalCreates).toBe(0)
  })

  it('holds submissions while the in-flight cap is full and never exceeds it', async () => {
    const { t, intake } = await f.simRuntime('cap', {
      maxInFlight: 2,
      sim: { jobDurationMs: { min: 300, max: 300 } },
    })
    const ids: string[] = []
    for (let i = 0; i < 8; i++) ids.push(await intake.create(t.target.name, systemBody(i)))
    const records = await waitAllFinal(intake, ids, 30_000)
    expect(records.every((r) => r.status === 'succeeded')).toBe(true)
    expect(t.sim.control.counters().peakConcurrentImports).toBe(2)
    expect(t.sim.control.counters().totalCreates).toBe(8)
  })
})

describe('poll', () => {
  it('shows FAIL with error_code and fail_reason on GET /v1/imports/{id} within one poll', async () => {
    const { t } = await f.simRuntime('fail', {
      poll: { initialDelayMs: 200, factor: 1, maxDelayMs: 200, jitter: 0 },
      sim: { initMs: 50, jobDurationMs: { min: 1000, max: 1000 } },
    })
    // The intake API itself, on the same Redis, as a caller uses it.
    const api = await f.api('tenant-fail:key-fail', { targets: [t.target.name] })
    const headers = { authorization: 'Bearer key-fail' }
    const created = await api.inject({
      method: 'POST',
      url: '/v1/imports',
      headers,
      payload: { ...systemBody(1, 'disks/fail-img-0069.zvhd2'), target: t.target.name },
    })
    expect(created.statusCode).toBe(202)
    const id = (created.json() as { id: string }).id
    let failedAt = 0
    await waitUntil(
      'IMS to report the job FAIL',
      async () => {
        if (t.sim.control.jobs().find((j) => j.marker === id)?.status === 'FAIL') failedAt = Date.now()
        return failedAt > 0
      },
      10_000,
      10,
    )
    let view:
      | { status: string; error: unknown; ims: { error_code: string | null; fail_reason: string | null } }
      | undefined
    await waitUntil(
      'GET to show the failure',
      async () => {
        view = (await api.inject({ method: 'GET', url: `/v1/imports/${id}`, headers })).json()
        return view?.status === 'failed'
      },
      5_000,
      20,
    )
    // Seen by the next poll (every 200 ms here), not after a timeout: one poll plus slack.
    expect(Date.now() - failedAt).toBeLessThan(200 + 400)
    expect(view?.error).toMatchObject({ source: 'ims', code: 'IMG.0069' })
    expect(view?.ims.error_code).toBe('IMG.0069')
    expect(view?.ims.fail_reason).toBeTruthy()
  })

  it('fails with deadline_exceeded when the target deadline passes', async () => {
    const { t, intake } = await f.simRuntime('deadline', {
      deadlineMs: 1500,
      sim: { jobDurationMs: { min: 60_000, max: 60_000 } },
    })
    const id = await intake.create(t.target.name, systemBody(1))
    const [r] = await waitAllFinal(intake, [id], 10_000)
    expect(r?.status).toBe('failed')
    expect(r?.error).toMatchObject({ source: 'service', code: 'deadline_exceeded' })
    expect(t.sim.control.counters().createsByMarker[id]).toBe(1)
  })
})
