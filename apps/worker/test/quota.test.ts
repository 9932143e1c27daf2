import type { ImportRecord, TargetConfig } from '@ims-importer/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { WorkerRuntime } from '../src/index.js'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody, waitAllFinal, waitUntil } from './helpers/harness.js'

// The private-image quota (issue 15 item 3) against the simulator and a real Redis: submissions
// never go beyond the free quota, pause instead of failing, say why on the record, resume by
// themselves when the quota frees. docs/image-quota.md

const f = workerTestFile('quota', afterEach)

const withQuota = (t: TargetConfig, refreshMs: number, countLagMs = refreshMs): TargetConfig => ({
  ...t,
  quota: { refreshMs, countLagMs },
})

const gauge = async (runtime: WorkerRuntime, metric: 'submissionsPaused' | 'imageQuota') =>
  (await runtime.deps.metrics[metric].get()).values.map((v) => ({ labels: v.labels, value: v.value }))

async function waitQueuedAndWaiting(
  intake: { records(ids: string[]): Promise<ImportRecord[]> },
  ids: string[],
) {
  let records: ImportRecord[] = []
  await waitUntil(
    `${ids.length} imports queued, waiting for quota`,
    async () => {
      records = await intake.records(ids)
      return records.every((r) => r.status === 'queued' && r.waiting?.reason === 'image_quota')
    },
    15_000,
    100,
  )
  return records
}

describe('image quota', () => {
  it('submits no more than the free quota across two workers, pauses, and resumes when the quota is raised', async () => {
    const t = await f.simTarget('free', { sim: { imageQuota: 5, existingImages: 2 } })
    const intake = f.intake()
    const target = withQuota(t.target, 300)
    const workers = [await f.runtime([target]), await f.runtime([target])]
    const ids: string[] = []
    for (let i = 0; i < 9; i++) ids.push(await intake.create(target.name, systemBody(i)))

    // 3 free: 3 succeed, the 6 others stay queued with the reason.
    await waitUntil(
      '3 imports succeeded',
      async () => (await intake.records(ids)).filter((r) => r.status === 'succeeded').length === 3,
      20_000,
      100,
    )
    const succeeded = new Set(
      (await intake.records(ids)).filter((r) => r.status === 'succeeded').map((r) => r.id),
    )
    const queued = await waitQueuedAndWaiting(
      intake,
      ids.filter((id) => !succeeded.has(id)),
    )
    expect(queued).toHaveLength(6)
    for (const r of queued) {
      expect(r.waiting).toMatchObject({ reason: 'image_quota', code: null })
      expect(r.waiting?.message).toMatch(
        /^no free private-image quota on target .+: \d+ of 5 images used and \d+ accepted imports not counted yet/,
      )
      expect(r.attempts.submit).toBe(0)
    }
    // Not one POST beyond the free quota, none refused, while paused for a few reads.
    await new Promise((r) => setTimeout(r, 1_500))
    expect(t.sim.control.requestLog('quickImport')).toHaveLength(3)
    expect(t.sim.control.quota()).toMatchObject({ used: 5, quota: 5, refusedForQuota: 0 })
    expect(t.sim.control.requestLog('getQuota').length).toBeGreaterThan(1)
    for (const w of workers) {
      expect(await gauge(w, 'submissionsPaused')).toEqual([
        { labels: { target: target.name, reason: 'image_quota' }, value: 1 },
      ])
    }
    expect(await gauge(workers[0] as WorkerRuntime, 'imageQuota')).toEqual(
      expect.arrayContaining([
        { labels: { target: target.name, kind: 'used' }, value: 5 },
        { labels: { target: target.name, kind: 'quota' }, value: 5 },
      ]),
    )

    // The quota is raised (a service ticket): everything goes on by itself, nothing failed.
    t.sim.control.setLimits({ imageQuota: 20 })
    const done = await waitAllFinal(intake, ids, 20_000)
    expect(done.map((r) => r.status)).toEqual(ids.map(() => 'succeeded'))
    expect(done.every((r) => !r.waiting)).toBe(true)
    const creates = t.sim.control.counters()
    expect(creates.totalCreates).toBe(9)
    expect(Object.values(creates.createsByMarker).every((n) => n === 1)).toBe(true)
    expect(t.sim.control.quota().refusedForQuota).toBe(0)
    await waitUntil(
      'paused gauge back to 0 on both workers',
      async () => {
        for (const w of workers) if ((await gauge(w, 'submissionsPaused'))[0]?.value !== 0) return false
        return true
      },
      5_000,
      100,
    )
  }, 60_000)

  it('pauses on IMG.0015 instead of failing, then resumes when images are deleted', async () => {
    // A slow cadence, so that the worker's view is stale when the project fills from outside.
    const t = await f.simTarget('refused', { sim: { imageQuota: 10 } })
    const target = withQuota(t.target, 2_000, 100)
    const intake = f.intake()
    await f.runtime([target])
    const first = await intake.create(target.name, systemBody(0))
    await waitAllFinal(intake, [first], 10_000)
    // Another tool fills the project: IMS now refuses every create.
    t.sim.control.setImageCount(10)
    const ids: string[] = []
    for (let i = 1; i <= 4; i++) ids.push(await intake.create(target.name, systemBody(i)))
    const records = await waitQueuedAndWaiting(intake, ids)
    for (const r of records) {
      expect(r.waiting).toMatchObject({ reason: 'image_quota', code: 'IMG.0015' })
      expect(r.attempts.submit).toBe(0)
    }
    const refused = t.sim.control.quota().refusedForQuota
    expect(refused).toBeGreaterThanOrEqual(1)
    // Paused: no further POST while the quota stays full, over several reads.
    await new Promise((r) => setTimeout(r, 4_500))
    expect(t.sim.control.quota().refusedForQuota).toBe(refused)
    expect((await intake.records(ids)).every((r) => r.status === 'queued')).toBe(true)

    // Images deleted: free again; the imports go on by themselves.
    t.sim.control.setImageCount(3)
    const done = await waitAllFinal(intake, ids, 20_000)
    expect(done.map((r) => r.status)).toEqual(ids.map(() => 'succeeded'))
    expect(done.every((r) => !r.waiting && r.error === null)).toBe(true)
    expect(t.sim.control.counters().totalCreates).toBe(5)
    expect(t.sim.control.quota().refusedForQuota).toBe(refused)
  }, 60_000)
})
