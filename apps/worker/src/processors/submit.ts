import {
  type ImportRecord,
  isFinal,
  jobIds,
  type QuickImportRequest,
  SubmitJob,
  type TargetConfig,
  VersionConflictError,
  withMarkerTag,
} from '@ims-importer/core'
import { DelayedError, type Job, type Queue, RateLimitError, WaitingError } from 'bullmq'
import type { WorkerDeps } from '../deps.js'
import { finish, resumeCallback, serviceError } from '../final-state.js'
import { backoffMs, classifyImsFailure, type ImsFailure } from '../ims-failure.js'
import { findImageByMarker } from '../marker-lookup.js'
import { loadJobImport, parsePayload, readJobState } from '../payload.js'
import type { PlaceWaiter } from '../place-waiter.js'
import { schedulePoll } from '../poll-schedule.js'

const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5))

/**
 * Longest a submission waits in process for an in-flight place before it goes back to the queue
 * (ms). Its job's lock is renewed meanwhile; the bound only keeps a waiter from sitting on a
 * worker slot for ever, and the import's deadline shortens it.
 */
export const PLACE_WAIT_MAX_MS = 30_000

export interface SubmitProcessorOptions {
  /** In-process waiting for a place; without it a full cap always takes the queue-pause path. */
  places?: PlaceWaiter
}

/**
 * Moves the submit jobs of the imports that hold a place and await their resubmission (record
 * `submitting`: a POST failed transiently or uncertainly, the import keeps its place) to the
 * head of the queue, if they wait there; a job that is delayed or active is left as it is.
 * Holders already submitted have no submit job left and are skipped: in the usual case this is
 * one read of the holders' records. At most once per `everyMs` per target in this process.
 */
function holderMover(deps: WorkerDeps, everyMs: number) {
  const last = new Map<string, number>()
  return async (queue: Queue, target: string): Promise<void> => {
    const now = Date.now()
    if (now - (last.get(target) ?? 0) < everyMs) return
    last.set(target, now)
    const holders = (await deps.inflight.members(target)).map((m) => m.importId)
    const records = await deps.store.getMany(holders)
    const awaiting = records.flatMap((r) => (r?.status === 'submitting' ? [r.id] : []))
    await Promise.all(
      awaiting.map(async (id) => {
        const held = await queue.getJob(jobIds.submit(id))
        if (held && (await held.getState()) === 'waiting')
          await held.changePriority({ priority: 0, lifo: true })
      }),
    )
  }
}

/**
 * Submits one import to IMS. Order matters:
 * 1. a final record is skipped; a submitted one only gets its poll job (idempotent);
 * 2. a record left in `submitting` means an earlier POST may have created the image (uncertain
 *    answer, or a crash between POST and recording the job id): the image is looked up by its
 *    marker tag and adopted if found, so IMS never sees a second create for one import;
 * 3. a place below the target's in-flight cap is taken, waiting in process for one to free
 *    for a while (place-waiter.ts), else the job goes back to the queue, which pauses;
 * 4. the record is marked `submitting` with the attempt number, BEFORE the POST;
 * 5. the exact sliding-window gate admits the POST; 6. POST, then record the job id and
 *    schedule the first poll.
 * Waiting for the cap, the gate or IMS throttling never counts as an attempt and never fails
 * the import, up to SUBMIT_MAX_THROTTLED_MS of continuous throttling.
 */
export const processSubmit = (deps: WorkerDeps, options: SubmitProcessorOptions = {}) => {
  const moveHoldersToHead = holderMover(deps, deps.config.submit.inflightWaitMs)
  return async (job: Job, token?: string): Promise<string> => {
    const { importId } = parsePayload(SubmitJob, job.data)
    const state = readJobState(job.data)
    const { record, target, log } = await loadJobImport(deps, importId)
    const outcome = (o: string) => deps.metrics.submissions.inc({ target: target.name, outcome: o })
    const cfg = deps.config.submit
    const queue = deps.queues.submit(target.name)
    const client = deps.ims.get(target.name)

    if (isFinal(record.status)) {
      await deps.inflight.release(target.name, importId)
      await resumeCallback(deps, record)
      outcome('skipped')
      return `skipped: ${record.status}`
    }
    if (record.status === 'submitted' || record.status === 'running') {
      await schedulePoll(deps, target, importId)
      return 'already submitted'
    }

    // An earlier POST may have created the image: look before any resubmission.
    if (record.status === 'submitting') {
      let image: Awaited<ReturnType<typeof findImageByMarker>>
      try {
        image = await findImageByMarker(client, importId)
      } catch (err) {
        return waitAfterFailure(classifyImsFailure(err, 'listImages'), 'listImages')
      }
      if (image) {
        await deps.inflight.add(target.name, [importId])
        await deps.store.transition(
          importId,
          'submitted',
          {
            submitted_at: record.submitted_at ?? new Date().toISOString(),
            ims: { adopted: true, image_id: image.id, job_status: null },
          },
          {
            expectedVersion: record.version,
            reason: 'image found by marker tag after an uncertain submit; adopted',
          },
        )
        outcome('adopted')
        log.warn({ imageId: image.id, imageStatus: image.status }, 'submit: image adopted')
        await schedulePoll(deps, target, importId)
        return 'adopted'
      }
      // Not listed. Either that POST created nothing, or IMS does not list its image yet (the job
      // may still be initialising): only a look SUBMIT_LOOKUP_SETTLE_MS after the POST may lead to
      // a new POST; until then, look again. (Not the time the record was marked `submitting`: the
      // gate may have held the POST back for seconds after it.)
      let lastPost = state.lastPost
      if (lastPost?.attempt !== record.attempts.submit) {
        lastPost = { attempt: record.attempts.submit, at: Date.now() }
        await job.updateData({ ...job.data, lastPost })
      }
      const settledAt = lastPost.at + cfg.lookupSettleMs
      if (Date.now() < settledAt) {
        log.info(
          { attempt: record.attempts.submit, lookAgainInMs: settledAt - Date.now() },
          'submit: no image listed yet for the last POST; looking again before any new POST',
        )
        await job.moveToDelayed(settledAt, token)
        throw new DelayedError()
      }
    }

    const now = Date.now()
    const ageMs = now - Date.parse(record.created_at)
    if (ageMs > target.deadlineMs)
      return giveUp(
        record,
        'deadline_exceeded',
        `not submitted within the target's deadline of ${target.deadlineMs} ms`,
      )
    if (state.throttledSince !== undefined && now - state.throttledSince > cfg.maxThrottledMs)
      return giveUp(
        record,
        'throttled_too_long',
        `IMS kept throttling the submission for more than ${cfg.maxThrottledMs} ms`,
      )
    // Enough POSTs without a definite answer, and the retry window since the first of them failed
    // is spent (within it IMS may be having an outage: each retry looks for the image first).
    // A job that does not know when they began (a crash, a re-enqueue) starts the window now.
    const retryingMs = now - (state.transientSince ?? now)
    if (record.attempts.submit >= cfg.maxAttempts && retryingMs >= cfg.retryWindowMs)
      return giveUp(
        record,
        'submit_retries_exhausted',
        `${record.attempts.submit} submit attempts over ${Math.round(retryingMs / 1000)} s ended without a definite answer and no image carries the marker tag`,
      )

    const cap = target.limits.maxInFlight
    const place = options.places
      ? await options.places.take(
          target.name,
          importId,
          cap,
          Math.min(PLACE_WAIT_MAX_MS, target.deadlineMs - ageMs),
        )
      : (await deps.inflight.acquire(target.name, importId, cap))
        ? 'taken'
        : 'full'
    if (place !== 'taken') {
      outcome('cap_full')
      if (!token) {
        await queue.rateLimit(cfg.inflightWaitMs)
        throw new RateLimitError()
      }
      // The cap holds for the whole target: pause its queue rather than cycling every job
      // (not when the worker is closing: the job only goes back for another worker).
      if (place === 'full') await queue.rateLimit(cfg.inflightWaitMs)
      // Back to the head of the queue. A place is freed only by its holder's job, and a holder
      // awaiting its resubmission has its job at the tail (a backoff ends there): moved ahead of
      // this one, or the jobs that keep finding the cap full would hold the line for ever.
      await job.moveToWait(token)
      await moveHoldersToHead(queue, target.name)
      throw new WaitingError()
    }

    const attempt = record.attempts.submit + 1
    let marked: ImportRecord
    try {
      marked = await deps.store.transition(
        importId,
        'submitting',
        { attempts: { ...record.attempts, submit: attempt } },
        { expectedVersion: record.version, reason: `submit attempt ${attempt}` },
      )
    } catch (err) {
      // Changed under us (a cancel): give the place back; BullMQ retries and step 1 decides.
      if (err instanceof VersionConflictError && record.status === 'queued')
        await deps.inflight.release(target.name, importId)
      throw err
    }

    // Fence: a POST goes out only while this run provably owns the job. If its lock expired
    // (Redis unreachable for longer than the lock, a stalled event loop), the stalled-job checker
    // may have handed the import to another worker, which finds no image by marker and POSTs
    // itself: a POST here too would create a second image. Renewing the lock proves ownership
    // and keeps the job ours for lockDurationMs from `fencedAt`.
    const lockMs = deps.config.lockDurationMs
    const fence = async () => {
      const at = Date.now()
      if (token && (await job.extendLock(token, lockMs)) !== 1) {
        log.warn({ attempt }, 'submit: job lock lost before the POST; the import is left to its new owner')
        throw new Error(`import ${importId}: submit job lock lost before the POST`)
      }
      return at
    }
    const fencedAt = await fence()
    await deps.gate.acquire({
      target: target.name,
      limit: target.limits.submitRate,
      windowMs: target.limits.submitWindowMs,
    })
    // Renewed again only after a long wait: a round trip between admission and POST eats the
    // gate's margin, so the usual path (a short wait, the lock still good for half its term) has none.
    if (Date.now() - fencedAt > lockMs / 2) await fence()

    let jobId: string
    try {
      // The body was validated against QuickImportRequest at intake; it is sent as stored.
      const body = withMarkerTag(record.request as QuickImportRequest, importId)
      ;({ jobId } = await client.quickImport(body))
    } catch (err) {
      const failure = classifyImsFailure(err, 'quickImport')
      outcome(failure.kind)
      return afterPostFailure(marked, attempt, failure)
    }

    await deps.store.transition(
      importId,
      'submitted',
      { submitted_at: new Date().toISOString(), ims: { job_id: jobId, job_status: 'INIT' } },
      { expectedVersion: marked.version },
    )
    outcome('submitted')
    log.info({ jobId, attempt }, 'submit: accepted by IMS')
    await schedulePoll(deps, target, importId)
    return 'submitted'

    async function afterPostFailure(marked: ImportRecord, attempt: number, f: ImsFailure): Promise<string> {
      const t = target as TargetConfig
      switch (f.kind) {
        case 'throttled': {
          // Never reached IMS: not an attempt. Back to queued, place given back.
          await deps.store.transition(
            importId,
            'queued',
            { attempts: { ...marked.attempts, submit: attempt - 1 } },
            { expectedVersion: marked.version, reason: `throttled by IMS (${f.code ?? f.status})` },
          )
          await deps.inflight.release(t.name, importId)
          return waitAfterFailure(f, 'quickImport')
        }
        case 'transient':
        case 'uncertain': {
          // The POST may have created the image: the record stays `submitting` and keeps its
          // in-flight place, so the next attempt looks the image up before any new POST.
          const delay = backoffMs(attempt, cfg.retryBaseMs, cfg.retryMaxMs)
          log.warn(
            { attempt, kind: f.kind, code: f.code, status: f.status, delayMs: delay },
            'submit: retry later',
          )
          // IMS answered something other than "throttled": a throttling streak, if any, is over;
          // the retry window starts with the first such failure. The POST went out before now.
          await job.updateData({
            importId,
            transientSince: state.transientSince ?? Date.now(),
            lastPost: { attempt, at: Date.now() },
          })
          await job.moveToDelayed(Date.now() + delay, token)
          throw new DelayedError()
        }
        case 'permanent': {
          await finish(
            deps,
            importId,
            'failed',
            {
              error: { source: 'ims', code: f.code ?? `HTTP ${f.status}`, message: f.message },
              ims: { error_code: f.code, fail_reason: f.message },
            },
            'IMS refused the import',
          )
          log.info({ code: f.code, status: f.status }, 'submit: refused by IMS')
          return 'failed'
        }
        case 'auth': {
          await finish(
            deps,
            importId,
            'failed',
            {
              error: {
                source: 'ims',
                code: f.code ?? 'auth_failed',
                message: `authentication with IMS/IAM failed; check the target's credentials (${f.message})`,
              },
            },
            'authentication failed',
          )
          // No tight loop: AK/SK locks after 5 failures in a row. Hold the whole target.
          await queue.rateLimit(cfg.authFailurePauseMs)
          log.error({ code: f.code, status: f.status }, 'submit: authentication failed; target paused')
          return 'failed'
        }
      }
    }

    /** Throttled: pause the target's queue (no attempt burnt); otherwise delay this job. */
    async function waitAfterFailure(f: ImsFailure, operation: string): Promise<string> {
      const t = target as TargetConfig
      if (f.kind === 'throttled') {
        deps.metrics.throttles.inc({ target: t.name, operation, code: f.code ?? String(f.status ?? 'none') })
        if (state.throttledSince === undefined)
          await job.updateData({ ...job.data, throttledSince: Date.now() })
        await queue.rateLimit(f.retryAfterMs ?? jittered(cfg.throttleBackoffMs))
        throw new RateLimitError()
      }
      const r = record as ImportRecord
      if (Date.now() - Date.parse(r.created_at) > t.deadlineMs)
        return giveUp(
          r,
          'deadline_exceeded',
          `the image could not be looked up before the deadline (${f.message})`,
        )
      const delay = backoffMs(Math.max(1, r.attempts.submit), cfg.retryBaseMs, cfg.retryMaxMs)
      log.warn(
        { operation, kind: f.kind, code: f.code, status: f.status, delayMs: delay },
        'submit: lookup failed; retry later',
      )
      await job.moveToDelayed(Date.now() + delay, token)
      throw new DelayedError()
    }

    async function giveUp(r: ImportRecord, code: string, message: string): Promise<string> {
      await finish(deps, r.id, 'failed', { error: serviceError(code, message) }, code)
      log.warn({ code }, 'submit: gave up')
      return 'failed'
    }
  }
}
