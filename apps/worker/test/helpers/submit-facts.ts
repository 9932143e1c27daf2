import type { ImportRecord } from '@ims-importer/core'
import type { SubmitFacts } from '../../src/processors/submit-decision.js'

// What the submit decision's tests (no Redis, no IMS) decide from, before each test's changes.

/** The tests' clock (epoch ms): the record is created then, the decision is taken 1 s later. */
export const T0 = Date.parse('2026-01-01T00:00:00.000Z')

/** A target with a 1 h deadline, 10 POSTs a second and 4 imports in flight. */
export const TARGET: SubmitFacts['target'] = {
  deadlineMs: 3_600_000,
  limits: { submitRate: 10, submitWindowMs: 1000, pollRate: 10, maxInFlight: 4 },
}

/** A queued import created at T0, never submitted; `over` changes any field. */
export const queuedRecord = (over: Partial<ImportRecord> = {}) =>
  ({
    id: 'imp_1',
    status: 'queued',
    created_at: new Date(T0).toISOString(),
    attempts: { submit: 0, poll: 0 },
    version: 1,
    ...over,
  }) as ImportRecord

/** The facts of a locked run at T0 + 1 s on TARGET with `settings`, for the queued record; then `over`. */
export const submitFacts = (
  settings: SubmitFacts['settings'],
  over: Partial<SubmitFacts> = {},
): SubmitFacts => ({
  record: queuedRecord(),
  state: {},
  now: T0 + 1_000,
  target: TARGET,
  settings,
  locked: true,
  random: () => 0.5,
  ...over,
})
