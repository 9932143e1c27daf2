import {
  enqueueSubmit,
  type ImportRecord,
  isFinal,
  jobIds,
  outboxImportIds,
  type TargetConfig,
} from '@ims-importer/core'
import type { Job as BullJob, Queue } from 'bullmq'
import type { WorkerDeps } from '../deps.js'
import { schedulePoll } from '../poll-schedule.js'

const PAGE = 500
/** Submit-outbox entries read per pass at most: a longer outbox (drainers far behind) is not consulted. */
const OUTBOX_READ_LIMIT = 100_000
/** An in-flight place held by a record still `queued` this long is stale (a crash before the POST). */
const QUEUED_PLACE_GRACE_MS = 5 * 60_000

export interface ReconcileReport {
  scanned: number
  submitRequeued: number
  pollRequeued: number
  inflightAdded: number
  inflightRemoved: number
  overduePolls: number
  /** Final imports and batches removed with their index entries (retention, docs/retention.md). */
  expired: number
  /** Final records written without retention (an earlier release) that got it now. */
  retentionGiven: number
}

/** Whether a queue holds a live job (waiting, delayed, active...) under this id; removes a dead one. */
async function liveJob(queue: Queue, jobId: string): Promise<BullJob | null> {
  const job = await queue.getJob(jobId)
  if (!job) return null
  const state = await job.getState()
  if (state === 'failed' || state === 'completed' || state === 'unknown') {
    await job.remove().catch(() => {})
    return null
  }
  return job
}

/**
 * The reconciler (a BullMQ job scheduler, every minute). It repairs what a crash or a lost job
 * can leave behind, for the targets this worker serves:
 * - a non-final import whose submit or poll job is missing (or failed) gets it back;
 * - the in-flight sets are recomputed from the store: imports submitted, running or submitting
 *   after a POST attempt are added; places of final, missing or long-queued imports are
 *   removed, each only if nobody re-acquired it meanwhile;
 * - polls overdue by more than POLL_OVERDUE_MS are reported (log and metric);
 * - the retention sweep: final imports and batches past RETENTION_DAYS go with every index entry
 *   of them, and final records from before retention get theirs (docs/retention.md).
 */
export const processReconcile = (deps: WorkerDeps) => async (): Promise<ReconcileReport> => {
  const report: ReconcileReport = {
    scanned: 0,
    submitRequeued: 0,
    pollRequeued: 0,
    inflightAdded: 0,
    inflightRemoved: 0,
    overduePolls: 0,
    expired: 0,
    retentionGiven: 0,
  }
  const repair = (kind: string, n = 1) => n > 0 && deps.metrics.repairs.inc({ kind }, n)

  const outboxed = await outboxImportIds(deps.redis, deps.queues.keys, OUTBOX_READ_LIMIT)
  const checkJobs = async (r: ImportRecord): Promise<void> => {
    const target = deps.targets.get(r.target) as TargetConfig
    if (r.status === 'queued' || r.status === 'submitting') {
      // A queued import still in the submit outbox gets its job from a drainer.
      if (r.status === 'queued' && outboxed?.has(r.id)) return
      if (!(await liveJob(deps.queues.submit(target.name), jobIds.submit(r.id)))) {
        await enqueueSubmit(deps.queues, target.name, r.id)
        report.submitRequeued++
        deps.log.warn(
          { importId: r.id, target: target.name, status: r.status },
          'reconcile: submit job re-enqueued',
        )
      }
      return
    }
    const poll = await liveJob(deps.queues.poll(target.name), jobIds.poll(r.id))
    if (!poll) {
      await schedulePoll(deps, target, r.id, 0)
      report.pollRequeued++
      deps.log.warn(
        { importId: r.id, target: target.name, status: r.status },
        'reconcile: poll job re-enqueued',
      )
      return
    }
    const dueAt = poll.timestamp + (poll.delay ?? 0)
    if (Date.now() - dueAt > deps.config.poll.overdueMs) {
      report.overduePolls++
      deps.log.warn(
        { importId: r.id, target: target.name, overdueMs: Date.now() - dueAt },
        'reconcile: poll overdue',
      )
    }
  }

  // Page by page, so memory stays flat and the job checks of a page go out together (one
  // pipeline's worth of round trips per page instead of two per import). Only the ids that
  // should hold an in-flight place are kept across pages.
  const shouldHold = new Map<string, string[]>([...deps.targets.keys()].map((t) => [t, []]))
  for (const status of ['queued', 'submitting', 'submitted', 'running'] as const) {
    for (let offset = 0; ; offset += PAGE) {
      const ids = await deps.store.idsByStatus(status, PAGE, offset)
      const records = (await deps.store.getMany(ids)).filter(
        (r): r is ImportRecord => r !== null && !isFinal(r.status) && deps.targets.has(r.target),
      )
      report.scanned += records.length
      await Promise.all(records.map(checkJobs))
      for (const r of records) {
        if (
          r.status === 'submitted' ||
          r.status === 'running' ||
          (r.status === 'submitting' && r.attempts.submit > 0)
        ) {
          shouldHold.get(r.target)?.push(r.id)
        }
      }
      if (ids.length < PAGE) break
    }
  }

  for (const target of deps.targets.values()) {
    const members = await deps.inflight.members(target.name)
    const held = new Set(members.map((m) => m.importId))
    report.inflightAdded += await deps.inflight.add(
      target.name,
      (shouldHold.get(target.name) ?? []).filter((id) => !held.has(id)),
    )
    // Page by page as well: only the stale members are kept (a large cap holds many places).
    const now = Date.now()
    const stale: typeof members = []
    for (let i = 0; i < members.length; i += PAGE) {
      const page = members.slice(i, i + PAGE)
      const records = await deps.store.getMany(page.map((m) => m.importId))
      page.forEach((m, j) => {
        const rec = records[j]
        if (!rec || isFinal(rec.status) || (rec.status === 'queued' && now - m.since > QUEUED_PLACE_GRACE_MS))
          stale.push(m)
      })
    }
    report.inflightRemoved += await deps.inflight.prune(target.name, stale)
  }

  const swept = await deps.store.sweepRetention()
  report.expired = swept.expired
  report.retentionGiven = swept.retained

  repair('submit_requeued', report.submitRequeued)
  repair('poll_requeued', report.pollRequeued)
  repair('inflight_added', report.inflightAdded)
  repair('inflight_removed', report.inflightRemoved)
  repair('poll_overdue', report.overduePolls)
  deps.log.info(report, 'reconcile: done')
  return report
}
