import {
  type FileInfo,
  type ImportError,
  type ImportPatch,
  type ImportRecord,
  isFinal,
  type TargetConfig,
  type WaitingState,
} from '@ims-importer/core'
import type { WorkerConfig } from '../config.js'
import { serviceError } from '../final-state.js'
import { backoffMs, type ImsFailure } from '../ims-failure.js'
import type { JobState } from '../payload.js'
import type { PlaceOutcome } from '../place-waiter.js'
import { needsPreflight, type PreflightCode } from '../preflight.js'
import { type QuotaPause, waitingFor } from '../quota-pause.js'

// The submit processor's branching, as a pure function: what it knows (record, job state, now,
// settings, and what its last action saw) -> the next step. No Redis, no IMS, no clock, no dice.
// The order of the steps, and why: docs/submit-processor.md

/**
 * Longest a submission waits in process for an in-flight place before it goes back to the queue
 * (ms); the import's deadline shortens it.
 */
export const PLACE_WAIT_MAX_MS = 30_000

/**
 * Longest a run holding a place (and maybe a quota reservation) waits for OBS to answer its
 * pre-flight (ms); past it they are given back while OBS answers (docs/preflight.md).
 */
export const PREFLIGHT_HOLD_MS = 1_000

export interface SubmitFacts {
  /** The record as last read or written by this run. */
  record: ImportRecord
  state: JobState
  now: number
  target: Pick<TargetConfig, 'deadlineMs' | 'limits'>
  settings: WorkerConfig['submit']
  /** Run by a Worker holding the job's lock (a token): without one the job can only be rate limited. */
  locked: boolean
  /** In [0, 1): the jitter of backoffs. */
  random: () => number
  /**
   * The target's private-image quota (image-quota.ts): `pause` when its submissions wait for free
   * quota. Absent: no quota accounting (no reservation step).
   */
  quota?: { pause: QuotaPause | null }
  /**
   * The target checks image files in OBS before an import is marked `submitting`
   * (docs/preflight.md): `mode`, how many reads of this import OBS has left unanswered so far (the
   * backoff), and the `outcome` of this run's check once it is known.
   * Absent: no pre-flight (mode off, or no OBS credentials).
   */
  preflight?: { mode: 'enforce' | 'warn'; retries: number; outcome?: PreflightOutcome }
}

/**
 * What the pre-flight found: passed, a failed check, no answer from OBS, or could not check;
 * `file` as OBS had it (not on the record yet: the step that commits the run writes it).
 */
export type PreflightOutcome =
  | { kind: 'passed'; file: FileInfo }
  | { kind: 'failed'; code: PreflightCode; message: string; file: FileInfo | null }
  | { kind: 'unavailable'; message: string }
  | { kind: 'unchecked' }

/** What the last action saw; `start` before any. */
export type Seen =
  | { kind: 'start' }
  | { kind: 'lookup'; image: { id: string; status: string } | null }
  | { kind: 'lookup-failed'; failure: ImsFailure }
  /** `quick`: the single try made while the file's check ran. */
  | { kind: 'place'; outcome: PlaceOutcome; quick?: true }
  | { kind: 'marked' }
  | { kind: 'posted'; jobId: string }
  | { kind: 'post-failed'; failure: ImsFailure }
  | { kind: 'unmarked'; failure: ImsFailure }
  /** The quota reservation before the POST: made, or none free. */
  | { kind: 'quota'; outcome: 'reserved' }
  | { kind: 'quota'; outcome: 'exhausted'; pause: QuotaPause }
  /** IMS answered the POST with IMG.0015 (nothing created); the target is paused. */
  | { kind: 'quota-refused'; pause: QuotaPause }

/** One action. The executor (submit.ts) maps each to one store write, IMS call or BullMQ outcome. */
export type SubmitStep =
  /** Final already: give its place back, queue its callback if pending. */
  | { kind: 'skip' }
  /** Submitted already: make sure its poll job exists. */
  | { kind: 'poll' }
  /** An earlier POST may have created the image: look for it by marker tag. */
  | { kind: 'lookup' }
  /** The image of an earlier POST exists: follow it (record `submitted`, adopted). */
  | { kind: 'adopt'; imageId: string; imageStatus: string }
  /** Count the import against the target's free private-image quota (before the POST). */
  | { kind: 'reserve-quota' }
  /**
   * No free quota: the record goes (back) to `queued` with `waiting` (and the checked `file`), its
   * place is given back (`refundAttempt`: a refused POST is not an attempt) and the target's
   * submit queue pauses `ms` (queue.rateLimit), until the quota is read again. No gate slot, no POST.
   */
  | { kind: 'quota-wait'; waiting: WaitingState; ms: number; refundAttempt: boolean; file?: FileInfo }
  /**
   * Await the outcome of the file's check in OBS (preflight-obs.ts, preflight.ts; started with the
   * run), then decide again on the same `seen` with it among the facts. With `holdMs` (the run
   * holds a place, maybe a quota reservation): if OBS takes longer, they are given back then and,
   * once it answers, the run starts over (`start`).
   */
  | { kind: 'preflight'; holdMs?: number }
  /**
   * OBS did not answer the pre-flight: this job runs again at `until`; `retries` so far. Its place
   * (`releasePlace`) and its quota reservation are given back.
   */
  | { kind: 'preflight-retry'; until: number; retries: number; message: string; releasePlace: boolean }
  /**
   * Take an in-flight place, waiting in process up to maxWaitMs; `quick`: a single try, while the
   * file's check runs (a file that fails must not wait in line for a place).
   */
  | { kind: 'take-place'; cap: number; maxWaitMs: number; quick?: true }
  /** Record `submitting` with the new attempt number (and the checked `file`), before the POST. */
  | { kind: 'mark'; attempt: number; file?: FileInfo }
  /** Through the gate, then the POST. */
  | { kind: 'post'; attempt: number }
  /** IMS accepted: record the job id, schedule the first poll. */
  | { kind: 'record-submitted'; jobId: string; attempt: number }
  /** A throttled POST never reached IMS: not an attempt; back to `queued`, place given back. */
  | { kind: 'unmark'; failure: ImsFailure }
  /**
   * The import fails; `pauseMs` also pauses the target's submit queue (auth); `file`: as the
   * pre-flight found it.
   */
  | {
      kind: 'fail'
      error: ImportError
      ims?: ImportPatch['ims']
      reason: string
      pauseMs?: number
      file?: FileInfo
    }
  /** This job runs again at `until` (moveToDelayed). */
  | {
      kind: 'delay'
      until: number
      state?: JobState
      why: 'settle' | 'lookup-failed' | 'post-failed'
      failure?: ImsFailure
    }
  /**
   * The target's submit queue pauses `ms` (queue.rateLimit); the job waits with it. `file`: the
   * checked file, written to the record first.
   */
  | {
      kind: 'rate-limit'
      ms: number
      state?: JobState
      throttled?: { operation: string; failure: ImsFailure }
      file?: FileInfo
    }
  /**
   * Cap full: back to the head of the queue, pausing the target's queue first if `pauseMs`.
   * `file`: the checked file, written to the record first.
   */
  | { kind: 'requeue'; pauseMs: number | null; file?: FileInfo }

const jittered = (ms: number, random: () => number) => Math.round(ms * (0.75 + random() * 0.5))

export function decideSubmit(f: SubmitFacts, seen: Seen): SubmitStep {
  const { record, state, now, settings } = f
  switch (seen.kind) {
    case 'start':
      if (isFinal(record.status)) return { kind: 'skip' }
      if (record.status === 'submitted' || record.status === 'running') return { kind: 'poll' }
      // An earlier POST may have created the image: look before any resubmission.
      if (record.status === 'submitting') return { kind: 'lookup' }
      return beforePlace(f)

    case 'lookup': {
      if (seen.image) return { kind: 'adopt', imageId: seen.image.id, imageStatus: seen.image.status }
      // Not listed: only a look SUBMIT_LOOKUP_SETTLE_MS after that POST may lead to a new one.
      const attempt = record.attempts.submit
      const lastPost = state.lastPost?.attempt === attempt ? state.lastPost : { attempt, at: now }
      const settledAt = lastPost.at + settings.lookupSettleMs
      if (now < settledAt)
        return { kind: 'delay', until: settledAt, state: { ...state, lastPost }, why: 'settle' }
      return beforePlace(f)
    }

    case 'lookup-failed': {
      const failure = seen.failure
      if (failure.kind === 'throttled') return throttled(f, 'listImages', failure)
      if (now - Date.parse(record.created_at) > f.target.deadlineMs)
        return giveUp(
          'deadline_exceeded',
          `the image could not be looked up before the deadline (${failure.message})`,
        )
      const delayMs = backoffMs(
        Math.max(1, record.attempts.submit),
        settings.retryBaseMs,
        settings.retryMaxMs,
        f.random,
      )
      return { kind: 'delay', until: now + delayMs, why: 'lookup-failed', failure }
    }

    case 'place':
      if (seen.outcome === 'taken')
        return f.quota
          ? { kind: 'reserve-quota' }
          : afterCheck(f, { kind: 'mark', attempt: record.attempts.submit + 1 }, true)
      // The single try beside the file's check found none: with the check's outcome, wait as usual.
      if (seen.quick && seen.outcome === 'full') return afterCheck(f, takePlace(f), false)
      if (!f.locked) return afterCheck(f, { kind: 'rate-limit', ms: settings.inflightWaitMs }, false)
      // The worker is closing: the job only goes back for another worker, at once (a file checked
      // in this run and not recorded is read again there).
      if (seen.outcome === 'closing') return { kind: 'requeue', pauseMs: null }
      // The cap holds for the whole target: pause its queue rather than cycling every job.
      return afterCheck(f, { kind: 'requeue', pauseMs: settings.inflightWaitMs }, false)

    case 'marked':
      return { kind: 'post', attempt: record.attempts.submit }

    case 'posted':
      return { kind: 'record-submitted', jobId: seen.jobId, attempt: record.attempts.submit }

    case 'post-failed':
      return afterPostFailure(f, seen.failure)

    case 'unmarked':
      return throttled(f, 'quickImport', seen.failure)

    case 'quota':
      if (seen.outcome === 'reserved')
        return afterCheck(f, { kind: 'mark', attempt: record.attempts.submit + 1 }, true)
      return afterCheck(f, quotaWait(f, seen.pause, false), true)

    case 'quota-refused':
      return quotaWait(f, seen.pause, true)
  }
}

/** Whether this run has a check of the file to await: a queued import without a recent `file`. */
const checkWanted = (f: SubmitFacts) => f.preflight !== undefined && needsPreflight(f.record, f.now)

/**
 * Whether the file's check is wanted and its outcome not known yet: the executor starts the OBS
 * reads as a run begins when this holds, so that they overlap the quota look, the place and the
 * reservation (docs/preflight.md, "Latency").
 */
export function preflightPending(f: SubmitFacts): boolean {
  return checkWanted(f) && f.preflight?.outcome === undefined
}

/**
 * The file's check before `step`, which commits the run (the mark before the POST, a wait that
 * writes the record, a failure) or waits in line for a place. Its outcome first (awaited if not
 * known: `holding` a place, at most PREFLIGHT_HOLD_MS). A failed check ends the import under
 * 'enforce' (IMS never sees it) and is only logged under 'warn'; no answer from OBS waits with
 * backoff, never failing by itself (the deadline still holds); a file that could not be checked
 * is submitted unchecked. Otherwise `step`, carrying the file as found for its record write.
 */
function afterCheck(f: SubmitFacts, step: SubmitStep, holding: boolean): SubmitStep {
  if (!checkWanted(f)) return step
  const outcome = f.preflight?.outcome
  if (!outcome) return holding ? { kind: 'preflight', holdMs: PREFLIGHT_HOLD_MS } : { kind: 'preflight' }
  switch (outcome.kind) {
    case 'failed':
      if (f.preflight?.mode === 'enforce')
        return {
          kind: 'fail',
          error: { source: 'preflight', code: outcome.code, message: outcome.message },
          reason: `pre-flight: ${outcome.code}`,
          ...(outcome.file ? { file: outcome.file } : {}),
        }
      return outcome.file ? withFile(step, outcome.file) : step
    case 'unavailable': {
      const retries = (f.preflight?.retries ?? 0) + 1
      const delayMs = backoffMs(retries, f.settings.retryBaseMs, f.settings.retryMaxMs, f.random)
      return {
        kind: 'preflight-retry',
        until: f.now + delayMs,
        retries,
        message: outcome.message,
        releasePlace: holding,
      }
    }
    case 'passed':
      return withFile(step, outcome.file)
    case 'unchecked':
      return step
  }
}

/** `step` with the checked file, if it writes the record (or ends the run, which then writes it). */
function withFile(step: SubmitStep, file: FileInfo): SubmitStep {
  switch (step.kind) {
    case 'mark':
    case 'quota-wait':
    case 'requeue':
    case 'rate-limit':
      return { ...step, file }
    default:
      return step
  }
}

/** Least pause of the target's queue while it waits for quota (ms). */
export const QUOTA_WAIT_MIN_MS = 50

/** Wait for the quota: back in line until the next read, which may show free places. */
function quotaWait(f: SubmitFacts, pause: QuotaPause, refundAttempt: boolean): SubmitStep {
  // Up to 10% later than the read may run, so that the read has run when the jobs come back.
  const ms = Math.max(QUOTA_WAIT_MIN_MS, Math.round(pause.retryInMs * (1 + f.random() * 0.1)))
  return { kind: 'quota-wait', waiting: waitingFor(pause), ms, refundAttempt }
}

/** After a POST without an answer of IMS accepting it. */
function afterPostFailure(f: SubmitFacts, failure: ImsFailure): SubmitStep {
  const { record, state, now, settings } = f
  const attempt = record.attempts.submit
  switch (failure.kind) {
    case 'throttled':
      return { kind: 'unmark', failure }
    case 'transient':
    case 'uncertain':
      // The POST may have created the image: the record stays `submitting` with its place, so
      // the next attempt looks first. IMS answered something other than "throttled": a
      // throttling streak is over (throttledSince dropped); the retry window starts now.
      return {
        kind: 'delay',
        until: now + backoffMs(attempt, settings.retryBaseMs, settings.retryMaxMs, f.random),
        state: { transientSince: state.transientSince ?? now, lastPost: { attempt, at: now } },
        why: 'post-failed',
        failure,
      }
    case 'permanent':
      return {
        kind: 'fail',
        error: {
          source: 'ims',
          code: failure.code ?? `HTTP ${failure.status}`,
          message: failure.message,
        },
        ims: { error_code: failure.code, fail_reason: failure.message },
        reason: 'IMS refused the import',
      }
    case 'auth':
      // No tight loop: AK/SK locks after 5 failures in a row. Hold the whole target.
      return {
        kind: 'fail',
        error: {
          source: 'ims',
          code: failure.code ?? 'auth_failed',
          message: `authentication with IMS/IAM failed; check the target's credentials (${failure.message})`,
        },
        reason: 'authentication failed',
        pauseMs: settings.authFailurePauseMs,
      }
  }
}

/**
 * The bounds an import must be within to go on, then a place (a single try while the file's check
 * runs), or the quota wait.
 */
function beforePlace(f: SubmitFacts): SubmitStep {
  const { record, state, now, settings, target } = f
  const ageMs = now - Date.parse(record.created_at)
  if (ageMs > target.deadlineMs)
    return giveUp(
      'deadline_exceeded',
      `not submitted within the target's deadline of ${target.deadlineMs} ms`,
    )
  if (state.throttledSince !== undefined && now - state.throttledSince > settings.maxThrottledMs)
    return giveUp(
      'throttled_too_long',
      `IMS kept throttling the submission for more than ${settings.maxThrottledMs} ms`,
    )
  // Enough POSTs without a definite answer, and the retry window since the first of them failed
  // is spent. A job that does not know when they began (a crash, a re-enqueue) starts it now.
  const retryingMs = now - (state.transientSince ?? now)
  if (record.attempts.submit >= settings.maxAttempts && retryingMs >= settings.retryWindowMs)
    return giveUp(
      'submit_retries_exhausted',
      `${record.attempts.submit} submit attempts over ${Math.round(retryingMs / 1000)} s ended without a definite answer and no image carries the marker tag`,
    )
  // The target waits for private-image quota: no place taken, no gate slot, no POST (the file's
  // check first: a bad file fails rather than waits).
  if (f.quota?.pause) return afterCheck(f, quotaWait(f, f.quota.pause, false), false)
  if (preflightPending(f)) return { ...takePlace(f), maxWaitMs: 0, quick: true }
  return afterCheck(f, takePlace(f), false)
}

function takePlace(f: SubmitFacts): Extract<SubmitStep, { kind: 'take-place' }> {
  const ageMs = f.now - Date.parse(f.record.created_at)
  return {
    kind: 'take-place',
    cap: f.target.limits.maxInFlight,
    maxWaitMs: Math.min(PLACE_WAIT_MAX_MS, f.target.deadlineMs - ageMs),
  }
}

/** Throttled: pause the target's queue (no attempt burnt); the streak's start is kept. */
function throttled(f: SubmitFacts, operation: string, failure: ImsFailure): SubmitStep {
  return {
    kind: 'rate-limit',
    ms: failure.retryAfterMs ?? jittered(f.settings.throttleBackoffMs, f.random),
    ...(f.state.throttledSince === undefined ? { state: { ...f.state, throttledSince: f.now } } : {}),
    throttled: { operation, failure },
  }
}

function giveUp(code: string, message: string): SubmitStep {
  return { kind: 'fail', error: serviceError(code, message), reason: code }
}
