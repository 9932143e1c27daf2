import {
  type ExpectedFinish,
  type ImportRecord,
  isFinal,
  PollJob,
  sizeHintOf,
  type TargetConfig,
} from '@ims-importer/core'
import type { ImsClient, ImsJob } from '@ims-importer/ims-client'
import { DelayedError, type Job, RateLimitError, UnrecoverableError } from 'bullmq'
import type { WorkerDeps } from '../deps.js'
import { finish, resumeCallback, serviceError } from '../final-state.js'
import { backoffMs, classifyImsFailure } from '../ims-failure.js'
import { findImageByMarker } from '../marker-lookup.js'
import { type JobState, loadJobImport, parsePayload, readJobState } from '../payload.js'
import {
  appendProgress,
  type ExpectedFinish as PlannedFinish,
  type PollBudget,
  type PollPlan,
  planNextPoll,
  resolvePollPolicy,
} from '../poll-planner.js'
import { pollDelayMs } from '../poll-schedule.js'

/** What one poll learnt, whether from the IMS job or (adopted imports) from the image itself. */
type Observation =
  | { state: 'pending'; imsStatus: string; progress: number | null }
  | ({ state: 'succeeded'; imsStatus: string; imageId: string | null } & JobTimes)
  | ({ state: 'failed'; imsStatus: string; errorCode: string; failReason: string } & JobTimes)
  | { state: 'unknown'; imsStatus: string; message: string }

/** IMS's begin_time and end_time of an ended job (ms since epoch), when both parse. */
type JobTimes = { beganAt?: number; endedAt?: number }

function jobTimes(job: ImsJob): JobTimes {
  const beganAt = job.begin_time ? Date.parse(job.begin_time) : Number.NaN
  const endedAt = job.end_time ? Date.parse(job.end_time) : Number.NaN
  return Number.isFinite(beganAt) && Number.isFinite(endedAt) && endedAt >= beganAt
    ? { beganAt, endedAt }
    : {}
}

function fromJob(job: ImsJob): Observation {
  switch (job.status) {
    case 'SUCCESS':
      return { state: 'succeeded', imsStatus: job.status, imageId: job.image_id, ...jobTimes(job) }
    case 'FAIL':
      return {
        ...jobTimes(job),
        state: 'failed',
        imsStatus: job.status,
        errorCode: job.error_code ?? 'IMS_JOB_FAILED',
        failReason: job.fail_reason ?? 'IMS reported the job as FAIL without a reason',
      }
    default:
      return { state: 'pending', imsStatus: job.status, progress: job.progress }
  }
}

/** Adopted imports have no job id: the image's status says how the import goes. */
async function fromImage(client: ImsClient, importId: string): Promise<Observation> {
  const image = await findImageByMarker(client, importId)
  if (!image)
    return { state: 'unknown', imsStatus: 'image_missing', message: 'the adopted image is no longer listed' }
  switch (image.status) {
    case 'active':
      return { state: 'succeeded', imsStatus: `image_${image.status}`, imageId: image.id }
    case 'killed':
    case 'deleted':
      return {
        state: 'failed',
        imsStatus: `image_${image.status}`,
        errorCode: `image_${image.status}`,
        failReason: `the image ${image.id} is ${image.status}`,
      }
    default:
      return { state: 'pending', imsStatus: `image_${image.status}`, progress: null }
  }
}

/** The record's view of a planned finish (ISO times). */
function finishView(f: PlannedFinish, now: number): ExpectedFinish {
  const iso = (ms: number) => new Date(ms).toISOString()
  return { at: iso(f.at), p10_at: iso(f.p10At), p90_at: iso(f.p90At), basis: f.basis, estimated_at: iso(now) }
}

/** When IMS accepted the job (ms since epoch): the planner's durations count from here. */
const submittedAtOf = (r: ImportRecord): number => Date.parse(r.submitted_at ?? r.created_at)

/**
 * One poll of one import. The poll job reschedules itself (moveToDelayed + DelayedError) until
 * IMS reports SUCCESS or FAIL, which are recorded at once. When it polls next is the poll
 * planner's decision (poll-planner.ts; the target's `poll.planner: 'fixed'` keeps the fixed
 * schedule), and every job-status GET first takes one of the target's budget (poll-gate.ts).
 * Throttled polls pause the target's poll queue; transient errors back off and keep the import
 * alive; a job IMS keeps answering "not found" for fails as ims_job_lost after the target's
 * grace; permanent errors many times in a row, or the target's deadline, fail the import.
 */
export const processPoll =
  (deps: WorkerDeps) =>
  async (job: Job, token?: string): Promise<string> => {
    const { importId, attempt } = parsePayload(PollJob, job.data)
    const state = readJobState(job.data)
    const failures = state.pollFailures ?? 0
    const { record, target, log } = await loadJobImport(deps, importId)

    if (isFinal(record.status)) {
      await deps.inflight.release(target.name, importId)
      await resumeCallback(deps, record)
      return `final: ${record.status}`
    }
    // The submit job owns imports not yet submitted; it schedules a fresh poll when it is done.
    if (record.status === 'queued' || record.status === 'submitting') return `not submitted: ${record.status}`

    if (Date.now() - Date.parse(record.created_at) > target.deadlineMs) {
      await finish(
        deps,
        importId,
        'failed',
        {
          error: serviceError(
            'deadline_exceeded',
            `not finished within the target's deadline of ${target.deadlineMs} ms`,
          ),
        },
        'deadline_exceeded',
      )
      log.warn('poll: deadline exceeded')
      return 'failed: deadline'
    }

    const policy = resolvePollPolicy(target.poll)
    const adaptive = target.poll.planner === 'adaptive'
    const client = deps.ims.get(target.name)
    const operation = record.ims.adopted ? 'listImages' : 'getJob'

    // One GET of the target's budget; a poll unlikely to free a place leaves the window's
    // reserve to polls likely to, and comes back after a window.
    let budget: PollBudget | undefined
    if (!record.ims.adopted) {
      const chance = Math.min(1, Math.max(0, state.finishChance ?? 0.5))
      const reserve = target.limits.pollRate * policy.budgetReserve * (1 - chance)
      const taken = await deps.pollGate.take(target.name, target.limits.pollRate, reserve)
      deps.metrics.pollGate.inc({ target: target.name, decision: taken.admitted ? 'admitted' : 'deferred' })
      budget = { ...taken.budget, available: Math.max(0, taken.budget.available - 1) }
      if (!taken.admitted) {
        const delay = Math.round(taken.budget.windowMs * (1 + policy.jitter * Math.random()))
        return reschedule({ ...state, pollFailures: failures }, attempt, delay)
      }
    }

    let seen: Observation
    try {
      if (record.ims.adopted) seen = await fromImage(client, importId)
      else if (record.ims.job_id) seen = fromJob(await client.getJob(record.ims.job_id))
      else throw new UnrecoverableError(`import ${importId} is ${record.status} without a job id`)
    } catch (err) {
      if (err instanceof UnrecoverableError) throw err
      const f = classifyImsFailure(err, operation)
      deps.metrics.polls.inc({ target: target.name, ims_status: `error_${f.kind}` })
      if (f.kind === 'throttled') {
        deps.metrics.throttles.inc({
          target: target.name,
          operation,
          code: f.code ?? String(f.status ?? 'none'),
        })
        await deps.queues
          .poll(target.name)
          .rateLimit(
            f.retryAfterMs ?? Math.round(deps.config.submit.throttleBackoffMs * (0.75 + Math.random() / 2)),
          )
        throw new RateLimitError()
      }
      if (operation === 'getJob' && f.status === 404) return notFound(f.code)
      const permanent = f.kind === 'permanent' || f.kind === 'auth'
      return failedPoll(permanent, `${f.kind}${f.code ? ` ${f.code}` : ''}: ${f.message}`)
    }

    const now = Date.now()
    deps.metrics.polls.inc({ target: target.name, ims_status: seen.imsStatus })
    switch (seen.state) {
      case 'succeeded': {
        const written = await finish(
          deps,
          importId,
          'succeeded',
          {
            ims: { job_status: seen.imsStatus, image_id: seen.imageId ?? record.ims.image_id, progress: 100 },
            attempts: polled(record),
          },
          'IMS reported SUCCESS',
        )
        if (written) await learn(seen, now, true)
        return 'succeeded'
      }
      case 'failed': {
        const written = await finish(
          deps,
          importId,
          'failed',
          {
            error: { source: 'ims', code: seen.errorCode, message: seen.failReason },
            ims: { job_status: seen.imsStatus, error_code: seen.errorCode, fail_reason: seen.failReason },
            attempts: polled(record),
          },
          'IMS reported FAIL',
        )
        if (written) await learn(seen, now, false)
        return 'failed'
      }
      case 'unknown':
        return failedPoll(true, seen.message)
      case 'pending': {
        const imsStatus = seen.imsStatus
        const reported = seen.progress
        const progress =
          reported === null
            ? (state.progress ?? [])
            : appendProgress(state.progress ?? [], { atMs: now, percent: reported })
        const [estimate, demand] = await Promise.all([
          deps.durationModel.estimate(target.name, sizeHintOf(record)),
          deps.placeDemand(target.name),
        ])
        const plan: PollPlan = planNextPoll(policy, {
          now,
          submittedAt: submittedAtOf(record),
          polls: attempt,
          progress,
          estimate,
          demand,
          budget,
          random: Math.random(),
        })
        const expected = plan.expectedFinish ? finishView(plan.expectedFinish, now) : null
        await deps.store.update(importId, (current) =>
          isFinal(current.status) || current.status === 'queued' || current.status === 'submitting'
            ? null
            : {
                to: 'running',
                patch: {
                  attempts: polled(current),
                  ims: { job_status: imsStatus, ...(reported === null ? {} : { progress: reported }) },
                  expected_finish: expected,
                },
              },
        )
        // 'fixed': the schedule of earlier releases; the expected finish is shown all the same.
        const delay = adaptive ? plan.delayMs : pollDelayMs(target.poll, attempt + 1)
        return reschedule(
          { progress, finishChance: adaptive ? plan.finishChance : null, lastKnownAt: now },
          attempt + 1,
          delay,
        )
      }
    }

    /**
     * IMS answered "not found" for the job. Right after submit IMS may not know a job yet, and
     * a restarted IMS simulator forgets its jobs: within the target's grace (since IMS last knew
     * the job, or since submit) the import is polled on; after it, the import fails as
     * ims_job_lost and its place is freed.
     */
    async function notFound(code: string | null): Promise<string> {
      const t = target as TargetConfig
      const since = state.lastKnownAt ?? Math.max(submittedAtOf(record), Date.parse(record.updated_at))
      const lostMs = Date.now() - since
      if (lostMs >= t.lostJobGraceMs) {
        await finish(
          deps,
          importId,
          'failed',
          {
            error: serviceError(
              'ims_job_lost',
              `IMS has answered "not found" (${code ?? 'HTTP 404'}) for job ${record.ims.job_id} for ${Math.round(lostMs / 1000)} s, longer than the target's grace of ${Math.round(t.lostJobGraceMs / 1000)} s; the import was given up and its place freed. The image may exist in IMS: look for the import's marker tag before importing it again.`,
            ),
            attempts: polled(record),
          },
          'ims_job_lost',
        )
        log.warn({ lostMs, code }, 'poll: IMS does not know the job; import failed as ims_job_lost')
        return 'failed: lost'
      }
      const remaining = t.lostJobGraceMs - lostMs
      const delay = Math.max(1, Math.min(pollDelayMs(t.poll, attempt), remaining + 1))
      log.warn({ lostMs, code, delayMs: delay }, 'poll: IMS does not know the job (yet); poll again')
      return reschedule({ ...state, lastKnownAt: since, pollFailures: failures }, attempt, delay)
    }

    /**
     * From an ended job: the place-time it held while IMS ran it and after IMS had ended it, the
     * detection latency, polls per import; a succeeded one teaches the duration model.
     */
    async function learn(ended: JobTimes, seenAt: number, succeeded: boolean): Promise<void> {
      const t = target as TargetConfig
      const labels = { target: t.name }
      deps.metrics.pollsPerImport.observe(labels, record.attempts.poll + 1)
      if (ended.beganAt === undefined || ended.endedAt === undefined) return
      const submittedAt = submittedAtOf(record)
      const idleMs = Math.max(0, seenAt - ended.endedAt)
      deps.metrics.placeIdle.inc(labels, idleMs / 1000)
      deps.metrics.placeBusy.inc(labels, Math.max(0, ended.endedAt - submittedAt) / 1000)
      const ranMs = ended.endedAt - ended.beganAt
      if (ranMs > 0) deps.metrics.detectionLatency.observe(labels, idleMs / ranMs)
      if (succeeded && ranMs > 0 && !record.ims.adopted)
        await deps.durationModel.record(t.name, sizeHintOf(record), ranMs).catch((err: unknown) => {
          log.warn({ err }, 'poll: could not record the duration')
        })
    }

    /** A poll that learnt nothing: transient errors keep the import alive, permanent ones count. */
    async function failedPoll(permanent: boolean, message: string): Promise<string> {
      const t = target as TargetConfig
      const inARow = permanent ? failures + 1 : failures
      if (inARow >= deps.config.poll.maxConsecutiveFailures) {
        await finish(
          deps,
          importId,
          'failed',
          {
            error: serviceError(
              'poll_failed_repeatedly',
              `${inARow} polls in a row failed; last: ${message}`,
            ),
          },
          'poll_failed_repeatedly',
        )
        log.warn({ failures: inARow }, 'poll: gave up')
        return 'failed: polls'
      }
      const delay = Math.max(
        pollDelayMs(t.poll, 1),
        backoffMs(inARow + 1, pollDelayMs(t.poll, 1), t.poll.maxDelayMs),
      )
      log.warn({ permanent, failures: inARow, delayMs: delay, reason: message }, 'poll: failed; retry later')
      return reschedule({ ...state, pollFailures: inARow }, attempt, delay)
    }

    async function reschedule(kept: JobState, nextAttempt: number, delayMs: number): Promise<never> {
      await job.updateData({ ...kept, importId, attempt: nextAttempt })
      await job.moveToDelayed(Date.now() + delayMs, token)
      throw new DelayedError()
    }
  }

function polled(r: ImportRecord): ImportRecord['attempts'] {
  return { ...r.attempts, poll: r.attempts.poll + 1 }
}
