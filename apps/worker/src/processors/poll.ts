import { type ImportRecord, isFinal, PollJob, type TargetConfig } from '@ims-importer/core'
import type { ImsClient, ImsJob } from '@ims-importer/ims-client'
import { DelayedError, type Job, RateLimitError, UnrecoverableError } from 'bullmq'
import type { WorkerDeps } from '../deps.js'
import { finish, resumeCallback, serviceError } from '../final-state.js'
import { backoffMs, classifyImsFailure } from '../ims-failure.js'
import { findImageByMarker } from '../marker-lookup.js'
import { loadJobImport, parsePayload, readJobState } from '../payload.js'
import { pollDelayMs } from '../poll-schedule.js'

/** What one poll learnt, whether from the IMS job or (adopted imports) from the image itself. */
type Observation =
  | { state: 'pending'; imsStatus: string; progress: number | null }
  | { state: 'succeeded'; imsStatus: string; imageId: string | null }
  | { state: 'failed'; imsStatus: string; errorCode: string; failReason: string }
  | { state: 'unknown'; imsStatus: string; message: string }

function fromJob(job: ImsJob): Observation {
  switch (job.status) {
    case 'SUCCESS':
      return { state: 'succeeded', imsStatus: job.status, imageId: job.image_id }
    case 'FAIL':
      return {
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

/**
 * One poll of one import. The poll job reschedules itself (moveToDelayed + DelayedError) on
 * the target's schedule until IMS reports SUCCESS or FAIL, which are recorded at once.
 * Throttled polls pause the target's poll queue; transient errors back off and keep the import
 * alive; permanent errors many times in a row, or the target's deadline, fail the import.
 */
export const processPoll =
  (deps: WorkerDeps) =>
  async (job: Job, token?: string): Promise<string> => {
    const { importId, attempt } = parsePayload(PollJob, job.data)
    const failures = readJobState(job.data).pollFailures ?? 0
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

    const client = deps.ims.get(target.name)
    const operation = record.ims.adopted ? 'listImages' : 'getJob'
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
      const permanent = f.kind === 'permanent' || f.kind === 'auth'
      return failedPoll(permanent, `${f.kind}${f.code ? ` ${f.code}` : ''}: ${f.message}`)
    }

    deps.metrics.polls.inc({ target: target.name, ims_status: seen.imsStatus })
    switch (seen.state) {
      case 'succeeded':
        await finish(
          deps,
          importId,
          'succeeded',
          {
            ims: { job_status: seen.imsStatus, image_id: seen.imageId ?? record.ims.image_id, progress: 100 },
            attempts: polled(record),
          },
          'IMS reported SUCCESS',
        )
        return 'succeeded'
      case 'failed':
        await finish(
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
        return 'failed'
      case 'unknown':
        return failedPoll(true, seen.message)
      case 'pending': {
        const progress = seen.progress
        const imsStatus = seen.imsStatus
        await deps.store.update(importId, (current) =>
          isFinal(current.status) || current.status === 'queued' || current.status === 'submitting'
            ? null
            : {
                to: 'running',
                patch: {
                  attempts: polled(current),
                  ims: { job_status: imsStatus, ...(progress === null ? {} : { progress }) },
                },
              },
        )
        return reschedule(attempt + 1, 0, pollDelayMs(target.poll, attempt + 1))
      }
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
      return reschedule(attempt, inARow, delay)
    }

    async function reschedule(nextAttempt: number, pollFailures: number, delayMs: number): Promise<never> {
      await job.updateData({ importId, attempt: nextAttempt, pollFailures })
      await job.moveToDelayed(Date.now() + delayMs, token)
      throw new DelayedError()
    }
  }

function polled(r: ImportRecord): ImportRecord['attempts'] {
  return { ...r.attempts, poll: r.attempts.poll + 1 }
}
