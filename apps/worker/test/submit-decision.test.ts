import { describe, expect, it } from 'vitest'
import { defaultWorkerConfig } from '../src/config.js'
import type { ImsFailure } from '../src/ims-failure.js'
import type { JobState } from '../src/payload.js'
import {
  decideSubmit,
  PLACE_WAIT_MAX_MS,
  type Seen,
  type SubmitFacts,
} from '../src/processors/submit-decision.js'
import { queuedRecord as record, submitFacts, T0, TARGET as target } from './helpers/submit-facts.js'

// Every branch of the submit processor's decision, without Redis or IMS.

const settings = {
  ...defaultWorkerConfig({ redisUrl: 'redis://unused', targets: [] }).submit,
  maxThrottledMs: 10_000,
  maxAttempts: 3,
  retryWindowMs: 60_000,
  retryBaseMs: 1_000,
  retryMaxMs: 8_000,
  lookupSettleMs: 5_000,
  inflightWaitMs: 200,
  authFailurePauseMs: 60_000,
  throttleBackoffMs: 4_000,
}
const facts = (over: Partial<SubmitFacts> = {}, state: JobState = {}) =>
  submitFacts(settings, { state, ...over })

const failure = (kind: ImsFailure['kind'], over: Partial<ImsFailure> = {}): ImsFailure => ({
  kind,
  code: null,
  status: 500,
  message: `${kind} failure`,
  retryAfterMs: null,
  ...over,
})

const start: Seen = { kind: 'start' }

describe('decideSubmit: where a run starts', () => {
  it.each(['succeeded', 'failed', 'cancelled'] as const)('skips a %s import', (status) => {
    expect(decideSubmit(facts({ record: record({ status }) }), start)).toEqual({ kind: 'skip' })
  })

  it.each(['submitted', 'running'] as const)('only schedules the poll of a %s import', (status) => {
    expect(decideSubmit(facts({ record: record({ status }) }), start)).toEqual({ kind: 'poll' })
  })

  it('looks for the image first when an earlier POST may have created it', () => {
    expect(decideSubmit(facts({ record: record({ status: 'submitting' }) }), start)).toEqual({
      kind: 'lookup',
    })
  })

  it('takes a place for a queued import, waiting at most the bound or what is left of the deadline', () => {
    expect(decideSubmit(facts(), start)).toEqual({ kind: 'take-place', cap: 4, maxWaitMs: PLACE_WAIT_MAX_MS })
    const late = facts({ now: T0 + target.deadlineMs - 2_000 })
    expect(decideSubmit(late, start)).toEqual({ kind: 'take-place', cap: 4, maxWaitMs: 2_000 })
  })
})

describe('decideSubmit: bounds before a place', () => {
  it('fails past the deadline', () => {
    const step = decideSubmit(facts({ now: T0 + target.deadlineMs + 1 }), start)
    expect(step).toMatchObject({ kind: 'fail', reason: 'deadline_exceeded', error: { source: 'service' } })
  })

  it('fails when throttled longer than maxThrottledMs, not before', () => {
    const now = T0 + 20_000
    const within = facts({ now }, { throttledSince: now - settings.maxThrottledMs })
    expect(decideSubmit(within, start).kind).toBe('take-place')
    const beyond = facts({ now }, { throttledSince: now - settings.maxThrottledMs - 1 })
    expect(decideSubmit(beyond, start)).toMatchObject({ kind: 'fail', reason: 'throttled_too_long' })
  })

  it('fails with retries exhausted only after both the attempts and the retry window', () => {
    const now = T0 + 120_000
    const spent = record({ attempts: { submit: 3, poll: 0 } })
    // Attempts spent, window not: go on.
    expect(decideSubmit(facts({ now, record: spent }, { transientSince: now - 59_999 }), start).kind).toBe(
      'take-place',
    )
    // A job that does not know when the retries began starts the window now.
    expect(decideSubmit(facts({ now, record: spent }), start).kind).toBe('take-place')
    // Window spent, attempts not: go on.
    const fewer = record({ attempts: { submit: 2, poll: 0 } })
    expect(decideSubmit(facts({ now, record: fewer }, { transientSince: now - 60_000 }), start).kind).toBe(
      'take-place',
    )
    // Both spent.
    expect(
      decideSubmit(facts({ now, record: spent }, { transientSince: now - 60_000 }), start),
    ).toMatchObject({
      kind: 'fail',
      reason: 'submit_retries_exhausted',
    })
  })
})

describe('decideSubmit: after the marker lookup', () => {
  const submitting = record({ status: 'submitting', attempts: { submit: 2, poll: 0 } })

  it('adopts a found image', () => {
    const seen: Seen = { kind: 'lookup', image: { id: 'img-1', status: 'queued' } }
    expect(decideSubmit(facts({ record: submitting }), seen)).toEqual({
      kind: 'adopt',
      imageId: 'img-1',
      imageStatus: 'queued',
    })
  })

  it('looks again until the settle time after the last POST, keeping when that was', () => {
    const now = T0 + 50_000
    const seen: Seen = { kind: 'lookup', image: null }
    // The POST of this attempt is known: settle from it.
    const known = facts({ now, record: submitting }, { lastPost: { attempt: 2, at: now - 1_000 } })
    expect(decideSubmit(known, seen)).toEqual({
      kind: 'delay',
      until: now + 4_000,
      state: { lastPost: { attempt: 2, at: now - 1_000 } },
      why: 'settle',
    })
    // Unknown (a crash, or the state is of an older attempt): from this first empty lookup.
    const unknown = facts({ now, record: submitting }, { lastPost: { attempt: 1, at: now - 30_000 } })
    expect(decideSubmit(unknown, seen)).toMatchObject({
      kind: 'delay',
      until: now + settings.lookupSettleMs,
      state: { lastPost: { attempt: 2, at: now } },
    })
    // Settled: nothing was created; on to the bounds and a place.
    const settled = facts({ now, record: submitting }, { lastPost: { attempt: 2, at: now - 5_000 } })
    expect(decideSubmit(settled, seen).kind).toBe('take-place')
  })

  it('with no settle time, resubmits after the first empty lookup', () => {
    const f = facts({ record: submitting, settings: { ...settings, lookupSettleMs: 0 } })
    expect(decideSubmit(f, { kind: 'lookup', image: null }).kind).toBe('take-place')
  })

  it('rate-limits the target when the lookup is throttled, keeping the start of the streak', () => {
    const seen: Seen = { kind: 'lookup-failed', failure: failure('throttled', { retryAfterMs: 700 }) }
    const first = decideSubmit(facts({ record: submitting }), seen)
    expect(first).toMatchObject({
      kind: 'rate-limit',
      ms: 700,
      state: { throttledSince: T0 + 1_000 },
      throttled: { operation: 'listImages' },
    })
    const again = decideSubmit(facts({ record: submitting }, { throttledSince: T0 }), seen)
    expect(again).not.toHaveProperty('state')
    // Without Retry-After: the backoff, jittered by +-25%.
    const noHint = { kind: 'lookup-failed', failure: failure('throttled') } as const
    expect(decideSubmit(facts({ record: submitting, random: () => 0 }), noHint)).toMatchObject({ ms: 3_000 })
    expect(decideSubmit(facts({ record: submitting, random: () => 1 }), noHint)).toMatchObject({ ms: 5_000 })
  })

  it('delays with backoff after another lookup failure, and fails once past the deadline', () => {
    const seen: Seen = { kind: 'lookup-failed', failure: failure('transient') }
    const step = decideSubmit(facts({ record: submitting, random: () => 1 }), seen)
    // Attempt 2: ceiling 2 s, full jitter in [1 s, 2 s].
    expect(step).toMatchObject({ kind: 'delay', until: T0 + 1_000 + 2_000, why: 'lookup-failed' })
    const late = facts({ record: submitting, now: T0 + target.deadlineMs + 1 })
    expect(decideSubmit(late, seen)).toMatchObject({ kind: 'fail', reason: 'deadline_exceeded' })
  })
})

describe('decideSubmit: the place, the mark, the POST', () => {
  it('marks the next attempt once a place is taken, then posts it', () => {
    expect(decideSubmit(facts(), { kind: 'place', outcome: 'taken' })).toEqual({ kind: 'mark', attempt: 1 })
    const marked = record({ status: 'submitting', attempts: { submit: 1, poll: 0 } })
    expect(decideSubmit(facts({ record: marked }), { kind: 'marked' })).toEqual({ kind: 'post', attempt: 1 })
  })

  it('cap full: pauses the queue and goes back to its head; closing only goes back; no lock: rate limit', () => {
    expect(decideSubmit(facts(), { kind: 'place', outcome: 'full' })).toEqual({
      kind: 'requeue',
      pauseMs: 200,
    })
    expect(decideSubmit(facts(), { kind: 'place', outcome: 'closing' })).toEqual({
      kind: 'requeue',
      pauseMs: null,
    })
    expect(decideSubmit(facts({ locked: false }), { kind: 'place', outcome: 'full' })).toEqual({
      kind: 'rate-limit',
      ms: 200,
    })
  })

  const marked = record({ status: 'submitting', attempts: { submit: 2, poll: 0 } })

  it('records the job id IMS gave', () => {
    expect(decideSubmit(facts({ record: marked }), { kind: 'posted', jobId: 'job-1' })).toEqual({
      kind: 'record-submitted',
      jobId: 'job-1',
      attempt: 2,
    })
  })

  it('throttled POST: unmarked (not an attempt), then the target is rate-limited', () => {
    const f = failure('throttled', { status: 429, retryAfterMs: 1_500 })
    expect(decideSubmit(facts({ record: marked }), { kind: 'post-failed', failure: f })).toEqual({
      kind: 'unmark',
      failure: f,
    })
    const queued = record({ attempts: { submit: 1, poll: 0 } })
    expect(decideSubmit(facts({ record: queued }), { kind: 'unmarked', failure: f })).toMatchObject({
      kind: 'rate-limit',
      ms: 1_500,
      state: { throttledSince: T0 + 1_000 },
      throttled: { operation: 'quickImport' },
    })
  })

  it.each(['transient', 'uncertain'] as const)(
    '%s POST: retried later, the streak of throttling over, the retry window kept',
    (kind) => {
      const step = decideSubmit(
        facts({ record: marked, random: () => 0 }, { throttledSince: T0 - 5, transientSince: T0 - 10 }),
        { kind: 'post-failed', failure: failure(kind) },
      )
      expect(step).toEqual({
        kind: 'delay',
        until: T0 + 1_000 + 1_000,
        state: { transientSince: T0 - 10, lastPost: { attempt: 2, at: T0 + 1_000 } },
        why: 'post-failed',
        failure: failure(kind),
      })
      const firstFailure = decideSubmit(facts({ record: marked }), {
        kind: 'post-failed',
        failure: failure(kind),
      })
      expect(firstFailure).toMatchObject({ state: { transientSince: T0 + 1_000 } })
    },
  )

  it('permanent POST failure: fails with the IMS code and message', () => {
    const f = failure('permanent', { code: 'IMG.0057', status: 400, message: 'bad image' })
    expect(decideSubmit(facts({ record: marked }), { kind: 'post-failed', failure: f })).toEqual({
      kind: 'fail',
      error: { source: 'ims', code: 'IMG.0057', message: 'bad image' },
      ims: { error_code: 'IMG.0057', fail_reason: 'bad image' },
      reason: 'IMS refused the import',
    })
    const noCode = decideSubmit(facts({ record: marked }), {
      kind: 'post-failed',
      failure: failure('permanent', { status: 400 }),
    })
    expect(noCode).toMatchObject({ error: { code: 'HTTP 400' } })
  })

  it('auth failure: fails with a clear reason and pauses the target', () => {
    const step = decideSubmit(facts({ record: marked }), {
      kind: 'post-failed',
      failure: failure('auth', { status: 401, message: 'bad password' }),
    })
    expect(step).toMatchObject({
      kind: 'fail',
      error: { source: 'ims', code: 'auth_failed' },
      reason: 'authentication failed',
      pauseMs: settings.authFailurePauseMs,
    })
    if (step.kind === 'fail') expect(step.error.message).toMatch(/authentication.*bad password/)
  })
})
