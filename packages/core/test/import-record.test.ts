import { describe, expect, it } from 'vitest'
import {
  IllegalTransitionError,
  ImportRecord,
  ImportStatus,
  newImportRecord,
  transition,
} from '../src/import-record.js'

const T0 = new Date('2026-01-02T03:04:05.000Z')
const T1 = new Date('2026-01-02T03:05:00.000Z')

function recordIn(status: ImportStatus, extra: Partial<ImportRecord> = {}): ImportRecord {
  const base = newImportRecord(
    { id: 'imp_test', tenant: 't1', target: 'eu-de', request: { name: 'img' } },
    T0,
  )
  return { ...base, status, ...extra }
}

/** The lifecycle as the service promises it, written out independently of TRANSITIONS. */
const LEGAL: Record<ImportStatus, ImportStatus[]> = {
  queued: ['queued', 'submitting', 'cancelled', 'failed'],
  submitting: ['submitting', 'queued', 'submitted', 'running', 'succeeded', 'failed'],
  submitted: ['submitted', 'running', 'succeeded', 'failed'],
  running: ['running', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
  cancelled: [],
}

const ALL = ImportStatus.options
const pairs = ALL.flatMap((from) => ALL.map((to) => ({ from, to, legal: LEGAL[from].includes(to) })))

describe('transition()', () => {
  it('covers all 49 pairs of states', () => {
    expect(pairs).toHaveLength(49)
    expect(pairs.filter((p) => p.legal)).toHaveLength(17)
  })

  it.each(pairs.filter((p) => p.legal))('allows $from -> $to', ({ from, to }) => {
    const before = recordIn(from)
    const after = transition(before, to, {}, { now: T1 })
    expect(after.status).toBe(to)
    expect(after.version).toBe(before.version + 1)
    expect(after.updated_at).toBe(T1.toISOString())
    expect(ImportRecord.safeParse(after).success).toBe(true)
  })

  it.each(pairs.filter((p) => !p.legal))('refuses $from -> $to', ({ from, to }) => {
    const before = recordIn(from)
    let caught: unknown
    try {
      transition(before, to, {}, { now: T1 })
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(IllegalTransitionError)
    const err = caught as IllegalTransitionError
    expect([err.from, err.to, err.importId]).toEqual([from, to, 'imp_test'])
    expect(err.message).toContain(`${from} -> ${to}`)
  })

  it('appends history only on a change of state, with the reason when given', () => {
    const r0 = recordIn('queued')
    expect(r0.history).toEqual([{ status: 'queued', at: T0.toISOString() }])

    const same = transition(r0, 'queued', { attempts: { submit: 1, poll: 0 } }, { now: T1 })
    expect(same.history).toEqual(r0.history)
    expect(same.version).toBe(2)
    expect(same.attempts.submit).toBe(1)

    const moved = transition(same, 'submitting', {}, { now: T1, reason: 'picked up' })
    expect(moved.history).toEqual([
      { status: 'queued', at: T0.toISOString() },
      { status: 'submitting', at: T1.toISOString(), reason: 'picked up' },
    ])
    const noReason = transition(moved, 'submitted', {}, { now: T1 })
    expect(noReason.history.at(-1)).toEqual({ status: 'submitted', at: T1.toISOString() })
    expect(noReason.version).toBe(4)
  })

  it('stamps finished_at on every final state and only there', () => {
    for (const to of ['succeeded', 'failed'] as const) {
      expect(transition(recordIn('running'), to, {}, { now: T1 }).finished_at).toBe(T1.toISOString())
    }
    expect(transition(recordIn('queued'), 'cancelled', {}, { now: T1 }).finished_at).toBe(T1.toISOString())
    expect(transition(recordIn('submitting'), 'submitted', {}, { now: T1 }).finished_at).toBeNull()
    expect(transition(recordIn('submitted'), 'running', {}, { now: T1 }).finished_at).toBeNull()
  })

  it('keeps a finished_at given in the patch', () => {
    const given = '2026-01-02T03:04:30.000Z'
    const after = transition(recordIn('running'), 'succeeded', { finished_at: given }, { now: T1 })
    expect(after.finished_at).toBe(given)
  })

  it('merges ims fields, ignores undefined patch fields and leaves the input untouched', () => {
    const before = recordIn('submitting')
    const snapshot = structuredClone(before)
    const after = transition(
      before,
      'submitted',
      { submitted_at: T1.toISOString(), ims: { job_id: 'job-1', image_id: undefined }, error: undefined },
      { now: T1 },
    )
    expect(after.ims).toEqual({ ...before.ims, job_id: 'job-1' })
    expect(after.error).toBeNull()
    expect(after.submitted_at).toBe(T1.toISOString())
    // Still a valid record after a JSON round trip (undefined would vanish there).
    expect(ImportRecord.safeParse(JSON.parse(JSON.stringify(after))).success).toBe(true)
    expect(before).toEqual(snapshot)
  })
})

describe('newImportRecord()', () => {
  it('starts queued at version 1 with one history entry', () => {
    const r = newImportRecord({ id: 'imp_a', tenant: 't', target: 'eu-de', request: {} }, T0)
    expect(r).toMatchObject({
      status: 'queued',
      version: 1,
      created_at: T0.toISOString(),
      updated_at: T0.toISOString(),
      external_id: null,
      batch_id: null,
      callback: null,
      finished_at: null,
    })
    expect(ImportRecord.safeParse(r).success).toBe(true)
  })

  it('sets a pending callback only when a callback_url is given', () => {
    const r = newImportRecord(
      { id: 'imp_b', tenant: 't', target: 'eu-de', request: {}, callback_url: 'https://example.test/cb' },
      T0,
    )
    expect(r.callback).toEqual({ status: 'pending', attempts: 0, last_error: null, delivered_at: null })
  })
})

describe('callback bookkeeping on a final record', () => {
  const delivered = {
    status: 'delivered' as const,
    attempts: 1,
    last_error: null,
    delivered_at: T0.toISOString(),
  }
  const finalRecord = (status: 'succeeded' | 'failed' | 'cancelled') =>
    transition(
      newImportRecord(
        { id: 'imp_cb', tenant: 't', target: 'eu-de', request: {}, callback_url: 'https://example.test/cb' },
        T0,
      ),
      status === 'cancelled' ? 'cancelled' : 'failed',
      {},
      { now: T0 },
    )

  it.each(['failed', 'cancelled'] as const)('a %s record takes a callback-only patch, in place', (status) => {
    const before = finalRecord(status)
    const after = transition(before, before.status, { callback: delivered })
    expect(after.status).toBe(before.status)
    expect(after.callback).toEqual(delivered)
    expect(after.version).toBe(before.version + 1)
    expect(after.history).toEqual(before.history)
    expect(after.finished_at).toBe(before.finished_at)
  })

  it('refuses anything else on a final record, even beside a callback', () => {
    const before = finalRecord('failed')
    expect(() => transition(before, 'failed')).toThrow(IllegalTransitionError)
    expect(() => transition(before, 'failed', { ims: { image_id: 'x' } })).toThrow(IllegalTransitionError)
    expect(() => transition(before, 'failed', { callback: delivered, error: null })).toThrow(
      IllegalTransitionError,
    )
    expect(() => transition(before, 'succeeded', { callback: delivered })).toThrow(IllegalTransitionError)
  })
})
