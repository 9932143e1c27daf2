import { setImmediate as nextTurn } from 'node:timers/promises'
import {
  type FileInfo,
  type ImportRecord,
  jobIds,
  policyViolation,
  type QuickImportRequest,
  SubmitJob,
  sizeHintOf,
  VersionConflictError,
  withMarkerTag,
} from '@ims-importer/core'
import { isImageQuotaError } from '@ims-importer/ims-client'
import { DelayedError, type Job, type Queue, RateLimitError, WaitingError } from 'bullmq'
import type { WorkerDeps } from '../deps.js'
import { afterFinal, finish, resumeCallback, serviceError } from '../final-state.js'
import { classifyImsFailure } from '../ims-failure.js'
import { findImageByMarker } from '../marker-lookup.js'
import { type JobState, loadJobImport, parsePayload, readJobState } from '../payload.js'
import type { PlaceWaiter } from '../place-waiter.js'
import { schedulePoll } from '../poll-schedule.js'
import { imageFileOf, judgePreflight, preflightModeOf, targetRegionOf } from '../preflight.js'
import type { QuotaPause } from '../quota-pause.js'
import {
  decideSubmit,
  type PreflightOutcome,
  preflightPending,
  type Seen,
  type SubmitFacts,
  type SubmitStep,
} from './submit-decision.js'

export { PLACE_WAIT_MAX_MS } from './submit-decision.js'

/**
 * Why the record's tenant may no longer submit it (its target or bucket left the tenants file's
 * policy, or the tenant did), or null. Without a tenants file every tenant may use everything.
 */
function policyDenial(deps: WorkerDeps, record: ImportRecord): string | null {
  const policies = deps.tenants.current
  if (!policies) return null
  const policy = policies.get(record.tenant)
  if (!policy) return `tenant ${record.tenant} is no longer in the tenant policy`
  return policyViolation(policy, record, [...deps.targets.keys()])
}

export interface SubmitProcessorOptions {
  /** In-process waiting for a place; without it a full cap always takes the queue-pause path. */
  places?: PlaceWaiter
}

/** Ends a run with a BullMQ outcome (DelayedError...) or a result string. */
type Outcome = { done: string }

/** Whether `p` settles (either way) within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ])
  } finally {
    clearTimeout(timer)
  }
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
 * Submits one import to IMS: decideSubmit (submit-decision.ts) picks each next step from what is
 * known, and this executor performs it: one store write, IMS call or BullMQ outcome per step.
 * One retry mechanism: the processor's own (moveToDelayed / queue.rateLimit), never BullMQ's
 * attempts, which only cover a crash of the processor. The steps and why: docs/submit-processor.md
 */
export const processSubmit = (deps: WorkerDeps, options: SubmitProcessorOptions = {}) => {
  const moveHoldersToHead = holderMover(deps, deps.config.submit.inflightWaitMs)
  return async (job: Job, token?: string): Promise<string> => {
    const { importId } = parsePayload(SubmitJob, job.data)
    const state = readJobState(job.data)
    const loaded = await loadJobImport(deps, importId)
    const { target, log } = loaded
    let record: ImportRecord = loaded.record
    const outcome = (o: string) => deps.metrics.submissions.inc({ target: target.name, outcome: o })
    // The tenant's policy may have changed since intake (TENANTS_FILE): an import it no longer
    // allows fails here, before any POST. Only a queued one: a submitting one may have reached IMS.
    const denied = record.status === 'queued' ? policyDenial(deps, record) : null
    if (denied !== null) {
      const failed = await deps.store.update(importId, (current) =>
        current.status === 'queued'
          ? { to: 'failed', patch: { error: serviceError('policy_denied', denied) }, reason: denied }
          : null,
      )
      if (failed?.status === 'failed') {
        await afterFinal(deps, failed)
        outcome('policy_denied')
        log.warn({ reason: denied }, 'submit: refused by the tenant policy')
        return 'policy_denied'
      }
      // Changed under us (a cancel, another worker): BullMQ runs the job again and it decides anew.
      throw new Error(`import ${importId} changed while refusing it by policy`)
    }
    const queue = deps.queues.submit(target.name)
    const client = deps.ims.get(target.name)
    const writeState = (s: JobState) => job.updateData({ importId, ...s })
    // The target's pre-flight (docs/preflight.md): its mode, and OBS's unanswered reads so far.
    const preflightMode = preflightModeOf(target)
    const preflight =
      preflightMode !== 'off' && deps.preflight.enabled(target.name)
        ? { mode: preflightMode, retries: Number(job.data?.preflightRetries) || 0 }
        : undefined
    /** This run's check of the file (its OBS reads, judged), and its outcome once awaited. */
    let checking: Promise<PreflightOutcome> | undefined
    let checked: PreflightOutcome | undefined
    let quota: { pause: QuotaPause | null } | undefined
    const facts = (): SubmitFacts => ({
      record,
      state,
      now: Date.now(),
      target,
      settings: deps.config.submit,
      locked: Boolean(token),
      random: Math.random,
      ...(quota ? { quota } : {}),
      ...(preflight ? { preflight: { ...preflight, ...(checked ? { outcome: checked } : {}) } } : {}),
    })
    // The target's private-image quota, for imports not submitted yet (docs/image-quota.md).
    const quotaLook =
      record.status === 'queued' || record.status === 'submitting'
        ? deps.imageQuota.check(target.name, importId)
        : undefined
    // Begun now when the run will want it (after the quota look's request is out): the OBS reads
    // overlap that look, the place and the reservation; the decision awaits the outcome before the
    // mark (docs/preflight.md, "Latency").
    if (preflightPending(facts())) checking = startCheck()
    quota = await quotaLook
    /** This run's quota reservation: `held` is given back when the run ends without a POST. */
    let reservation = 'none' as 'none' | 'held' | 'kept'
    const lockMs = deps.config.lockDurationMs
    /** When this run last renewed its job lock (the fence), ms; 0: not yet. */
    let fencedAt = 0
    /**
     * Renews the job lock: proof that this run still owns the job, which stays its own for
     * lockMs. A POST goes out only within lockMs / 2 of a renewal (docs/submit-processor.md, "fence").
     */
    const fence = async (attempt: number): Promise<void> => {
      const at = Date.now()
      if (token && (await job.extendLock(token, lockMs)) !== 1) {
        log.warn({ attempt }, 'submit: job lock lost before the POST; the import is left to its new owner')
        throw new Error(`import ${importId}: submit job lock lost before the POST`)
      }
      fencedAt = at
    }
    const fenceDue = () => Date.now() - fencedAt > lockMs / 2

    /** Performs one step: what it saw (fed back to decideSubmit), or the run's end. */
    const perform = async (step: SubmitStep, seen: Seen): Promise<Seen | Outcome> => {
      switch (step.kind) {
        case 'skip':
          await deps.inflight.release(target.name, importId)
          await resumeCallback(deps, record)
          outcome('skipped')
          return { done: `skipped: ${record.status}` }

        case 'poll':
          await schedulePoll(deps, target, importId, undefined, sizeHintOf(record))
          return { done: 'already submitted' }

        case 'lookup':
          try {
            return { kind: 'lookup', image: await findImageByMarker(client, importId) }
          } catch (err) {
            return { kind: 'lookup-failed', failure: classifyImsFailure(err, 'listImages') }
          }

        case 'adopt':
          await deps.inflight.add(target.name, [importId])
          await deps.store.transition(
            importId,
            'submitted',
            {
              submitted_at: record.submitted_at ?? new Date().toISOString(),
              ims: { adopted: true, image_id: step.imageId, job_status: null },
            },
            {
              expectedVersion: record.version,
              reason: 'image found by marker tag after an uncertain submit; adopted',
            },
          )
          outcome('adopted')
          log.warn({ imageId: step.imageId, imageStatus: step.imageStatus }, 'submit: image adopted')
          await schedulePoll(deps, target, importId, undefined, sizeHintOf(record))
          return { done: 'adopted' }

        case 'preflight': {
          checking ??= startCheck()
          // The lock is renewed meanwhile, so that the POST needs no round trip for it; awaited below.
          const renewing = fence(record.attempts.submit + 1)
          renewing.catch(() => undefined)
          const { holdMs } = step
          const holding = holdMs !== undefined
          let slow = false
          try {
            if (holding && !(await settlesWithin(checking, holdMs))) {
              // OBS is slow: the place and the reservation are not held while it answers.
              slow = true
              await giveBack()
            }
            checked = await checking
          } catch (err) {
            if (holding && !slow) await giveBack()
            throw err
          }
          await renewing
          // Decided again on what was seen, with the outcome; after giving back, from the start.
          return slow ? { kind: 'start' } : seen
        }

        case 'preflight-retry':
          if (step.releasePlace) await deps.inflight.release(target.name, importId)
          // Kept beside the job state (payload.ts JobState is rewritten by later steps: the count
          // only matters until the check has run).
          await job.updateData({ ...job.data, preflightRetries: step.retries })
          log.warn(
            { delayMs: step.until - Date.now(), retries: step.retries, reason: step.message },
            'preflight: OBS did not answer; checking again later',
          )
          await job.moveToDelayed(step.until, token)
          throw new DelayedError()

        case 'take-place': {
          const place = options.places
            ? await options.places.take(target.name, importId, step.cap, step.maxWaitMs)
            : (await deps.inflight.acquire(target.name, importId, step.cap))
              ? 'taken'
              : 'full'
          // The quick try beside the check is not counted: a full cap is counted once, after it.
          if (place !== 'taken' && !step.quick) outcome('cap_full')
          return { kind: 'place', outcome: place, ...(step.quick ? { quick: true } : {}) }
        }

        case 'reserve-quota': {
          const r = await deps.imageQuota.reserve(target.name, importId)
          if (r.kind === 'reserved') {
            reservation = 'held'
            return { kind: 'quota', outcome: 'reserved' }
          }
          return { kind: 'quota', outcome: 'exhausted', pause: r.pause }
        }

        case 'quota-wait': {
          const w = step.waiting
          const same =
            record.status === 'queued' &&
            record.waiting?.reason === w.reason &&
            record.waiting.code === w.code
          if ((!same || step.file) && (record.status === 'queued' || record.status === 'submitting')) {
            const attempts = step.refundAttempt
              ? { attempts: { ...record.attempts, submit: record.attempts.submit - 1 } }
              : {}
            try {
              record = await deps.store.transition(
                importId,
                'queued',
                { waiting: w, ...attempts, ...(step.file ? { file: step.file } : {}) },
                {
                  expectedVersion: record.version,
                  reason: `waiting for private-image quota (${w.code ?? 'none free'})`,
                },
              )
            } catch (err) {
              // A cancel or a sweep came first: the next run decides again.
              if (!(err instanceof VersionConflictError)) throw err
            }
          }
          await deps.inflight.release(target.name, importId)
          log.debug({ code: w.code, delayMs: step.ms }, 'submit: waiting for private-image quota')
          await queue.rateLimit(step.ms)
          throw new RateLimitError()
        }

        case 'mark':
          try {
            record = await markSubmitting(step.attempt, step.file)
          } catch (err) {
            // Changed under us (a cancel): give the place back; BullMQ retries and step 1 decides.
            if (err instanceof VersionConflictError && record.status === 'queued')
              await deps.inflight.release(target.name, importId)
            throw err
          }
          return { kind: 'marked' }

        case 'post':
          return post(step.attempt)

        case 'record-submitted':
          await deps.store.transition(
            importId,
            'submitted',
            { submitted_at: new Date().toISOString(), ims: { job_id: step.jobId, job_status: 'INIT' } },
            { expectedVersion: record.version },
          )
          outcome('submitted')
          log.info({ jobId: step.jobId, attempt: step.attempt }, 'submit: accepted by IMS')
          await schedulePoll(deps, target, importId, undefined, sizeHintOf(record))
          return { done: 'submitted' }

        case 'unmark': {
          const f = step.failure
          record = await deps.store.transition(
            importId,
            'queued',
            { attempts: { ...record.attempts, submit: record.attempts.submit - 1 } },
            { expectedVersion: record.version, reason: `throttled by IMS (${f.code ?? f.status})` },
          )
          await deps.inflight.release(target.name, importId)
          return { kind: 'unmarked', failure: f }
        }

        case 'fail':
          await finish(
            deps,
            importId,
            'failed',
            {
              error: step.error,
              ...(step.ims ? { ims: step.ims } : {}),
              ...(step.file ? { file: step.file } : {}),
            },
            step.reason,
          )
          if (step.pauseMs !== undefined) {
            await queue.rateLimit(step.pauseMs)
            log.error({ code: step.error.code }, 'submit: authentication failed; target paused')
          } else log.warn({ code: step.error.code, reason: step.reason }, 'submit: import failed')
          return { done: 'failed' }

        case 'delay': {
          if (step.state) await writeState(step.state)
          const f = step.failure
          const fields = { delayMs: step.until - Date.now(), attempt: record.attempts.submit }
          if (step.why === 'settle')
            log.info(
              fields,
              'submit: no image listed yet for the last POST; looking again before any new POST',
            )
          else
            log.warn(
              { ...fields, kind: f?.kind, code: f?.code, status: f?.status },
              step.why === 'post-failed' ? 'submit: retry later' : 'submit: lookup failed; retry later',
            )
          await job.moveToDelayed(step.until, token)
          throw new DelayedError()
        }

        case 'rate-limit': {
          if (step.file) await recordFile(step.file)
          if (step.throttled) {
            const f = step.throttled.failure
            deps.metrics.throttles.inc({
              target: target.name,
              operation: step.throttled.operation,
              code: f.code ?? String(f.status ?? 'none'),
            })
          }
          if (step.state) await writeState(step.state)
          await queue.rateLimit(step.ms)
          throw new RateLimitError()
        }

        case 'requeue':
          if (step.file) await recordFile(step.file)
          if (step.pauseMs !== null) await queue.rateLimit(step.pauseMs)
          // Back to the head of the queue; holders awaiting their resubmission are moved ahead
          // of it, or jobs that keep finding the cap full would hold the line (docs/submit-processor.md).
          await job.moveToWait(token)
          await moveHoldersToHead(queue, target.name)
          throw new WaitingError()
      }
    }

    /**
     * The pre-flight: OBS's answers about the file (preflight-obs.ts), judged (preflight.ts), with
     * the file as found. Nothing is written here: the step that commits the run writes the file
     * (the mark, a wait, the failure), also when a check fails, so a re-run does not read it again
     * and the poll planner knows its size.
     */
    async function checkFile(): Promise<PreflightOutcome> {
      const image = imageFileOf(record.request)
      if (!image) return { kind: 'unchecked' }
      const read = await deps.preflight.read(target.name, image)
      if (read.kind === 'unavailable') return { kind: 'unavailable', message: read.message }
      if (read.kind === 'unchecked') {
        log.error({ reason: read.message }, 'preflight: the file cannot be checked; submitting it unchecked')
        return { kind: 'unchecked' }
      }
      const verdict = judgePreflight(image, read.facts, targetRegionOf(target), new Date())
      log.debug({ requests: read.requests, ok: verdict.ok }, 'preflight: file checked')
      if (verdict.ok) return { kind: 'passed', file: verdict.file }
      log.warn(
        { code: verdict.code, reason: verdict.message, mode: preflightMode },
        preflightMode === 'enforce'
          ? 'preflight: check failed; import fails'
          : 'preflight: check failed; submitting anyway (warn)',
      )
      return { kind: 'failed', code: verdict.code, message: verdict.message, file: verdict.file }
    }

    /** Starts the check, counted and timed as it ends; a run that ends first leaves it unread. */
    function startCheck(): Promise<PreflightOutcome> {
      const started = performance.now()
      const labels = { target: target.name }
      const check = checkFile().then((outcome) => {
        deps.metrics.preflightDuration.observe(labels, (performance.now() - started) / 1000)
        deps.metrics.preflight.inc({
          ...labels,
          outcome: outcome.kind,
          code: outcome.kind === 'failed' ? outcome.code : '',
        })
        return outcome
      })
      // Awaited where its outcome is wanted (an error then ends the run); not an unhandled rejection.
      check.catch(() => undefined)
      return check
    }

    /** The checked file onto a record still queued, for a run that ends without writing it. */
    const recordFile = async (file: FileInfo) => {
      // A cancel or another worker may have come first: then the next run decides anew.
      const written = await deps.store.update(importId, (current) =>
        current.status === 'queued' ? { to: 'queued', patch: { file } } : null,
      )
      if (written) record = written
    }

    /** Gives back the place and the quota reservation this run holds before its mark. */
    const giveBack = async () => {
      await deps.inflight.release(target.name, importId)
      if (reservation === 'held') {
        reservation = 'none'
        await deps.imageQuota.release(target.name, importId)
      }
    }

    /**
     * Records `submitting` before the POST (clearing `waiting`). A record whose only change since
     * it was read is its `waiting` field (a quota sweep of image-quota.ts) is written again once.
     */
    const markSubmitting = async (attempt: number, file?: FileInfo): Promise<ImportRecord> => {
      const write = (r: ImportRecord) =>
        deps.store.transition(
          importId,
          'submitting',
          {
            attempts: { ...r.attempts, submit: attempt },
            ...(r.waiting ? { waiting: null } : {}),
            ...(file ? { file } : {}),
          },
          { expectedVersion: r.version, reason: `submit attempt ${attempt}` },
        )
      try {
        return await write(record)
      } catch (err) {
        if (!(err instanceof VersionConflictError)) throw err
        const fresh = await deps.store.get(importId)
        if (!fresh || fresh.status !== record.status || fresh.attempts.submit !== record.attempts.submit)
          throw err
        return write(fresh)
      }
    }

    /**
     * Fence, gate, POST. A POST goes out only while this run provably owns the job (renewing its
     * lock): docs/submit-processor.md, "fence". The gate's slot is stamped once the POST is out.
     */
    const post = async (attempt: number): Promise<Seen> => {
      // Renewed here unless the run did while awaiting its pre-flight.
      if (fenceDue()) await fence(attempt)
      const admission = await deps.gate.acquire(
        { target: target.name, limit: target.limits.submitRate, windowMs: target.limits.submitWindowMs },
        undefined,
        { untilSent: true },
      )
      let posting: ReturnType<typeof client.quickImport>
      try {
        // Renewed again only after a long wait (a round trip here delays the POST).
        if (fenceDue()) await fence(attempt)
        // The body was validated against QuickImportRequest at intake; it is sent as stored.
        posting = client.quickImport(withMarkerTag(record.request as QuickImportRequest, importId))
      } catch (err) {
        // No POST went out: the held slot leaves the window instead of staying counted.
        await admission.cancel().catch((e) => log.warn({ err: e }, 'submit: gate slot release failed'))
        throw err
      }
      // The request is written within this turn of the event loop: stamp the slot after it.
      const stamped = nextTurn().then(() => admission.sent())
      try {
        const { jobId } = await posting
        await deps.imageQuota.posted(target.name, importId)
        reservation = 'kept'
        return { kind: 'posted', jobId }
      } catch (err) {
        if (isImageQuotaError(err)) {
          // IMG.0015: nothing was created; the target pauses instead of failing the import.
          outcome('image_quota')
          reservation = 'none'
          const message = err instanceof Error ? err.message : String(err)
          return {
            kind: 'quota-refused',
            pause: await deps.imageQuota.refused(target.name, importId, message),
          }
        }
        const failure = classifyImsFailure(err, 'quickImport')
        outcome(failure.kind)
        if (failure.kind === 'transient' || failure.kind === 'uncertain') {
          // It may have created the image: it counts until a read that would see it.
          await deps.imageQuota.posted(target.name, importId)
          reservation = 'kept'
        }
        return { kind: 'post-failed', failure }
      } finally {
        await stamped.catch((err) => log.warn({ err }, 'submit: gate stamp after the POST failed'))
      }
    }

    let seen: Seen = { kind: 'start' }
    try {
      for (;;) {
        const step = decideSubmit(facts(), seen)
        const result = await perform(step, seen)
        if ('done' in result) return result.done
        seen = result
      }
    } finally {
      if (reservation === 'held')
        await deps.imageQuota
          .release(target.name, importId)
          .catch((err) => log.warn({ err }, 'submit: quota reservation release failed'))
    }
  }
}
