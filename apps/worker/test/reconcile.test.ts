import { jobIds, newId, outboxEntry } from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import { workerTestFile } from './helpers/fixtures.js'
import { systemBody, waitAllFinal, waitUntil } from './helpers/harness.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('reconcile')

describe('reconciler', () => {
  it('re-enqueues lost submit and poll jobs and recomputes the in-flight set', async () => {
    const { t, intake, runtime } = await f.simRuntime('recon', {
      sim: { jobDurationMs: { min: 1500, max: 1500 } },
    })
    const target = t.target.name
    const { inflight } = runtime.deps

    // An import whose submit job was lost (record written, job never enqueued).
    const lostSubmit = newId('imp')
    await intake.store.create({ id: lostSubmit, tenant: 'tenant-a', target, request: systemBody(1) })

    // An import whose poll job was lost while running, and whose in-flight place was lost too.
    const lostPoll = await intake.create(target, systemBody(2))
    await waitUntil(
      'the import to be submitted and its poll job removed',
      async () => {
        const r = await intake.store.get(lostPoll)
        if (r?.status !== 'submitted' && r?.status !== 'running') return false
        const job = await intake.queues.poll(target).getJob(jobIds.poll(lostPoll))
        if (!job || (await job.getState()) !== 'delayed') return false
        await job.remove()
        return true
      },
      10_000,
      20,
    )
    await inflight.release(target, lostPoll)
    // A place held by an import that does not exist.
    await inflight.add(target, ['imp_ghost'])

    const report = await runtime.reconcileOnce()
    expect(report).toMatchObject({ submitRequeued: 1, pollRequeued: 1, inflightAdded: 1, inflightRemoved: 1 })
    expect((await inflight.members(target)).map((m) => m.importId)).toContain(lostPoll)

    const records = await waitAllFinal(intake, [lostSubmit, lostPoll], 20_000)
    expect(records.map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
    const counters = t.sim.control.counters()
    expect(counters.createsByMarker[lostSubmit]).toBe(1)
    expect(counters.createsByMarker[lostPoll]).toBe(1)
    // Places go in the write that makes each import final (core transition-import.lua).
    expect(await inflight.count(target)).toBe(0)

    // Nothing left to repair.
    expect(await runtime.reconcileOnce()).toMatchObject({
      submitRequeued: 0,
      pollRequeued: 0,
      inflightAdded: 0,
      inflightRemoved: 0,
    })
  })
})

/** A namespace of its own: the runtime above drains its namespace's outbox. */
const g = workerTestFile('reconcile-outbox')

describe('reconciler and the submit outbox', () => {
  it('leaves a queued import whose outbox entry no drainer has moved yet to the drainer', async () => {
    const t = await g.simTarget('recon-outbox')
    const intake = g.intake()
    // No drainer in this process: the outbox keeps what is pushed onto it.
    const runtime = await g.runtime([t.target], {}, { outboxDrainer: false })
    const target = t.target.name
    const inOutbox = newId('imp')
    const lost = newId('imp')
    for (const id of [inOutbox, lost])
      await intake.store.create({ id, tenant: 'tenant-a', target, request: systemBody(3) })
    const redis = g.redis()
    await redis.rpush(g.ns.submitOutbox, outboxEntry(target, inOutbox))

    const report = await runtime.reconcileOnce()
    expect(report.submitRequeued).toBe(1)
    // The lost one's job was added, and runs; the outboxed one has none and stays queued.
    await waitUntil(
      'the lost import submitted',
      async () => (await intake.store.get(lost))?.status !== 'queued',
      10_000,
    )
    expect(await intake.queues.submit(target).getJob(jobIds.submit(inOutbox))).toBeUndefined()
    expect((await intake.store.get(inOutbox))?.status).toBe('queued')
    expect(await redis.lrange(g.ns.submitOutbox, 0, -1)).toEqual([outboxEntry(target, inOutbox)])
  })
})
