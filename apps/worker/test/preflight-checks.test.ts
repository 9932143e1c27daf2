import { type ImportRecord, TargetConfig } from '@ims-importer/core'
import { describe, expect, it } from 'vitest'
import {
  bitmapKeyFor,
  imageFileOf,
  judgePreflight,
  MAX_IMAGE_BYTES,
  needsPreflight,
  type ObsFacts,
  PREFLIGHT_FRESH_MS,
  preflightModeOf,
  targetRegionOf,
} from '../src/preflight.js'
import {
  decideSubmit,
  PLACE_WAIT_MAX_MS,
  PREFLIGHT_HOLD_MS,
  type PreflightOutcome,
  preflightPending,
  type Seen,
  type SubmitFacts,
} from '../src/processors/submit-decision.js'
import type { QuotaPause } from '../src/quota-pause.js'

// The pre-flight's pure parts: the checks (preflight.ts) and the decision's pre-flight steps.

const GIB = 2 ** 30
const AT = new Date('2026-12-06T12:00:00Z')
const image = (o: Partial<ReturnType<typeof imageFileOf> & object> = {}) => ({
  bucket: 'images',
  key: 'disks/web01.zvhd2',
  format: 'zvhd2' as const,
  minDiskGb: 40,
  systemDisk: true,
  ...o,
})
const good = (o: Partial<ObsFacts> = {}): ObsFacts => ({
  bucket: { kind: 'found', region: 'eu-de', storageClass: 'STANDARD' },
  object: { kind: 'found', sizeBytes: 10 * GIB, storageClass: 'STANDARD' },
  ...o,
})

describe('judgePreflight', () => {
  it('passes a Standard file that fits, in the region, with its file as found', () => {
    expect(judgePreflight(image(), good(), 'eu-de', AT)).toEqual({
      ok: true,
      file: {
        size_bytes: 10 * GIB,
        storage_class: 'STANDARD',
        region: 'eu-de',
        checked_at: AT.toISOString(),
      },
    })
  })

  it.each([
    ['preflight_bucket_missing', good({ bucket: { kind: 'not-found' } })],
    ['preflight_object_missing', good({ object: { kind: 'not-found' } })],
    ['preflight_object_missing', good({ object: { kind: 'found', sizeBytes: 0, storageClass: 'STANDARD' } })],
    ['preflight_object_unreadable', good({ object: { kind: 'forbidden' } })],
    ['preflight_object_unreadable', good({ bucket: { kind: 'forbidden' } })],
    [
      'preflight_wrong_region',
      good({ bucket: { kind: 'found', region: 'eu-nl', storageClass: 'STANDARD' } }),
    ],
    [
      'preflight_too_large',
      good({ object: { kind: 'found', sizeBytes: MAX_IMAGE_BYTES + 1, storageClass: 'STANDARD' } }),
    ],
    ['preflight_not_standard', good({ bucket: { kind: 'found', region: 'eu-de', storageClass: 'WARM' } })],
    ['preflight_not_standard', good({ object: { kind: 'found', sizeBytes: GIB, storageClass: 'COLD' } })],
    [
      'preflight_disk_too_small',
      good({ object: { kind: 'found', sizeBytes: 40 * GIB + 1, storageClass: 'STANDARD' } }),
    ],
  ])('%s', (code, facts) => {
    const verdict = judgePreflight(image(), facts, 'eu-de', AT)
    expect(verdict).toMatchObject({ ok: false, code })
    if (!verdict.ok) expect(verdict.message.length).toBeGreaterThan(10)
  })

  it('keeps the file on a failure after the object was read (the size is known)', () => {
    const verdict = judgePreflight(
      image(),
      good({ object: { kind: 'found', sizeBytes: 50 * GIB, storageClass: 'STANDARD' } }),
      'eu-de',
      AT,
    )
    expect(verdict).toMatchObject({
      ok: false,
      code: 'preflight_disk_too_small',
      file: { size_bytes: 50 * GIB },
    })
    expect(judgePreflight(image(), good({ object: { kind: 'not-found' } }), 'eu-de', AT).file).toBeNull()
  })

  it('min_disk binds system disks only; a file of exactly min_disk fits', () => {
    const big = good({ object: { kind: 'found', sizeBytes: 50 * GIB, storageClass: 'STANDARD' } })
    expect(judgePreflight(image({ systemDisk: false }), big, 'eu-de', AT).ok).toBe(true)
    const exact = good({ object: { kind: 'found', sizeBytes: 40 * GIB, storageClass: 'STANDARD' } })
    expect(judgePreflight(image(), exact, 'eu-de', AT).ok).toBe(true)
  })

  it('a RAW file needs its .mf bitmap; ZVHD2 does not', () => {
    const raw = image({ key: 'disks/web01.raw', format: 'raw' })
    expect(judgePreflight(raw, good({ bitmap: { kind: 'not-found' } }), 'eu-de', AT)).toMatchObject({
      ok: false,
      code: 'preflight_bitmap_missing',
    })
    expect(judgePreflight(raw, good({ bitmap: { kind: 'found' } }), 'eu-de', AT).ok).toBe(true)
    expect(bitmapKeyFor('disks/web01.raw')).toBe('disks/web01.mf')
    expect(bitmapKeyFor('disks.v2/web01')).toBe('disks.v2/web01.mf')
  })

  it('no region to compare with, or none from OBS: the region is not checked', () => {
    const nl = good({ bucket: { kind: 'found', region: 'eu-nl', storageClass: 'STANDARD' } })
    expect(judgePreflight(image(), nl, null, AT).ok).toBe(true)
    const unknown = good({ bucket: { kind: 'found', region: null, storageClass: 'STANDARD' } })
    expect(judgePreflight(image(), unknown, 'eu-de', AT).ok).toBe(true)
  })
})

describe('target settings', () => {
  const target = (o: Record<string, unknown>) =>
    TargetConfig.parse({
      name: 't',
      imsEndpoint: 'https://ims.eu-de.otc.t-systems.com',
      iamEndpoint: 'https://iam.eu-de.otc.t-systems.com/v3',
      projectId: 'p',
      auth: { type: 'aksk', ak: 'AK', sk: 'SK' },
      ...o,
    })
  it('mode: enforce with OBS, off without, as configured otherwise', () => {
    const obs = { endpoint: 'https://obs.eu-de.otc.t-systems.com' }
    expect(preflightModeOf(target({}))).toBe('off')
    expect(preflightModeOf(target({ preflight: 'enforce' }))).toBe('off')
    expect(preflightModeOf(target({ obs }))).toBe('enforce')
    expect(preflightModeOf(target({ obs, preflight: 'warn' }))).toBe('warn')
    expect(preflightModeOf(target({ obs, preflight: 'off' }))).toBe('off')
  })
  it("region: the target's, else the OBS endpoint's", () => {
    expect(
      targetRegionOf(target({ region: 'eu-nl', obs: { endpoint: 'https://obs.eu-de.otc.t-systems.com' } })),
    ).toBe('eu-nl')
    expect(targetRegionOf(target({ obs: { endpoint: 'https://obs.eu-de.otc.t-systems.com' } }))).toBe('eu-de')
    expect(
      targetRegionOf(target({ obs: { endpoint: 'https://obs.ap-southeast-1.myhuaweicloud.com' } })),
    ).toBe('ap-southeast-1')
    expect(targetRegionOf(target({ obs: { endpoint: 'http://127.0.0.1:9000' } }))).toBeNull()
  })
  it('image file of a body', () => {
    expect(
      imageFileOf({ image_url: 'images:disks/a.RAW', min_disk: 100, type: 'DataImage', os_type: 'Linux' }),
    ).toEqual({ bucket: 'images', key: 'disks/a.RAW', format: 'raw', minDiskGb: 100, systemDisk: false })
    expect(imageFileOf({ image_url: 'no-colon' })).toBeNull()
  })
})

describe('decideSubmit: the pre-flight steps', () => {
  const now = Date.parse('2026-12-06T12:00:00Z')
  const record = (o: Partial<ImportRecord> = {}): ImportRecord =>
    ({
      id: 'imp_1',
      status: 'queued',
      created_at: new Date(now - 1000).toISOString(),
      attempts: { submit: 0, poll: 0 },
      request: { image_url: 'images:disks/a.zvhd2', min_disk: 40 },
      version: 1,
      ...o,
    }) as ImportRecord
  const facts = (o: Partial<SubmitFacts> = {}): SubmitFacts => ({
    record: record(),
    state: {},
    now,
    target: { deadlineMs: 3_600_000, limits: { maxInFlight: 40 } as SubmitFacts['target']['limits'] },
    settings: { retryBaseMs: 1000, retryMaxMs: 60_000, inflightWaitMs: 200 } as SubmitFacts['settings'],
    locked: true,
    random: () => 0.5,
    preflight: { mode: 'enforce', retries: 0 },
    ...o,
  })
  const file = {
    size_bytes: 10 * GIB,
    storage_class: 'STANDARD',
    region: 'eu-de',
    checked_at: new Date(now - 5).toISOString(),
  }
  /** The facts once the check's outcome is known (in `mode`). */
  const found = (
    outcome: PreflightOutcome,
    o: Partial<SubmitFacts> = {},
    mode: 'enforce' | 'warn' = 'enforce',
  ) => facts({ preflight: { mode, retries: 0, outcome }, ...o })
  const passed: PreflightOutcome = { kind: 'passed', file }
  const failed: PreflightOutcome = {
    kind: 'failed',
    code: 'preflight_wrong_region',
    message: 'bucket in eu-nl',
    file: null,
  }
  const pause: QuotaPause = { code: null, message: 'no free quota', since: now - 10, retryInMs: 2_000 }
  const taken: Seen = { kind: 'place', outcome: 'taken' }
  const quickFull: Seen = { kind: 'place', outcome: 'full', quick: true }
  const start: Seen = { kind: 'start' }
  const waitForPlace = { kind: 'take-place', cap: 40, maxWaitMs: PLACE_WAIT_MAX_MS }

  it('while the check of a queued file runs: one try for a place, no wait; not for a recent file, a submitting import or without pre-flight', () => {
    expect(preflightPending(facts())).toBe(true)
    expect(decideSubmit(facts(), start)).toEqual({ kind: 'take-place', cap: 40, maxWaitMs: 0, quick: true })
    const recent = record({ file: { ...file, checked_at: new Date(now - 60_000).toISOString() } })
    expect(preflightPending(facts({ record: recent }))).toBe(false)
    expect(decideSubmit(facts({ record: recent }), start)).toEqual(waitForPlace)
    const stale = { ...file, checked_at: new Date(now - PREFLIGHT_FRESH_MS - 1).toISOString() }
    expect(needsPreflight(record({ file: stale }), now)).toBe(true)
    expect(preflightPending(facts({ record: record({ status: 'submitting' }) }))).toBe(false)
    expect(decideSubmit(facts({ record: record({ status: 'submitting' }) }), start).kind).toBe('lookup')
    const { preflight: _, ...off } = facts()
    expect(preflightPending(off)).toBe(false)
    expect(decideSubmit(off, start)).toEqual(waitForPlace)
    expect(preflightPending(found(passed))).toBe(false)
  })

  it('the outcome is awaited before the mark, holding the place at most PREFLIGHT_HOLD_MS; before any wait, holding nothing', () => {
    const hold = { kind: 'preflight', holdMs: PREFLIGHT_HOLD_MS }
    // Place taken: the mark waits for the outcome (quota: the reservation goes first).
    expect(decideSubmit(facts(), taken)).toEqual(hold)
    const quota = { quota: { pause: null } }
    expect(decideSubmit(facts(quota), taken)).toEqual({ kind: 'reserve-quota' })
    expect(decideSubmit(facts(quota), { kind: 'quota', outcome: 'reserved' })).toEqual(hold)
    expect(decideSubmit(facts(quota), { kind: 'quota', outcome: 'exhausted', pause })).toEqual(hold)
    // No place: the outcome before waiting in line for one, or for quota.
    expect(decideSubmit(facts(), quickFull)).toEqual({ kind: 'preflight' })
    expect(decideSubmit(facts({ quota: { pause } }), start)).toEqual({ kind: 'preflight' })
    // The worker is closing: the job leaves at once.
    expect(decideSubmit(facts(), { kind: 'place', outcome: 'closing', quick: true })).toEqual({
      kind: 'requeue',
      pauseMs: null,
    })
  })

  it('passed: the file rides on the mark, a quota wait or a requeue; the quick try that found the cap full waits as usual', () => {
    expect(decideSubmit(found(passed), taken)).toEqual({ kind: 'mark', attempt: 1, file })
    const quota = { quota: { pause: null } }
    expect(decideSubmit(found(passed, quota), { kind: 'quota', outcome: 'reserved' })).toEqual({
      kind: 'mark',
      attempt: 1,
      file,
    })
    expect(decideSubmit(found(passed, quota), { kind: 'quota', outcome: 'exhausted', pause })).toMatchObject({
      kind: 'quota-wait',
      refundAttempt: false,
      file,
    })
    expect(decideSubmit(found(passed, { quota: { pause } }), start)).toMatchObject({
      kind: 'quota-wait',
      file,
    })
    expect(decideSubmit(found(passed), quickFull)).toEqual(waitForPlace)
    expect(decideSubmit(found(passed), { kind: 'place', outcome: 'full' })).toEqual({
      kind: 'requeue',
      pauseMs: 200,
      file,
    })
    expect(decideSubmit(found(passed, { locked: false }), { kind: 'place', outcome: 'full' })).toEqual({
      kind: 'rate-limit',
      ms: 200,
      file,
    })
    // After giving the place back to a slow OBS, the run starts over with the outcome known.
    expect(decideSubmit(found(passed), start)).toEqual(waitForPlace)
    // Could not be checked: submitted without a file.
    expect(decideSubmit(found({ kind: 'unchecked' }), taken)).toEqual({ kind: 'mark', attempt: 1 })
  })

  it('enforce: a failed check fails the import with source preflight (and the file as found); warn: it goes on', () => {
    const fail = {
      kind: 'fail',
      error: { source: 'preflight', code: 'preflight_wrong_region', message: 'bucket in eu-nl' },
      reason: 'pre-flight: preflight_wrong_region',
    }
    expect(decideSubmit(found(failed), taken)).toEqual(fail)
    expect(decideSubmit(found(failed), quickFull)).toEqual(fail)
    expect(decideSubmit(found(failed), start)).toEqual(fail)
    expect(
      decideSubmit(found(failed, { quota: { pause: null } }), { kind: 'quota', outcome: 'reserved' }),
    ).toEqual(fail)
    expect(decideSubmit(found(failed, { quota: { pause } }), start)).toEqual(fail)
    expect(decideSubmit(found(failed), { kind: 'place', outcome: 'full' })).toEqual(fail)
    const tooSmall: PreflightOutcome = {
      kind: 'failed',
      code: 'preflight_disk_too_small',
      message: 'min_disk 40 GB is smaller than the file',
      file,
    }
    expect(decideSubmit(found(tooSmall), taken)).toMatchObject({ kind: 'fail', file })
    expect(decideSubmit(found(tooSmall, {}, 'warn'), taken)).toEqual({ kind: 'mark', attempt: 1, file })
    expect(decideSubmit(found(failed, {}, 'warn'), taken)).toEqual({ kind: 'mark', attempt: 1 })
  })

  it('OBS without an answer: retried with growing backoff, the place given back; never a failure; the deadline still holds', () => {
    const unavailable: PreflightOutcome = { kind: 'unavailable', message: 'HTTP 503' }
    expect(decideSubmit(found(unavailable), taken)).toEqual({
      kind: 'preflight-retry',
      until: now + 750,
      retries: 1,
      message: 'HTTP 503',
      releasePlace: true,
    })
    expect(decideSubmit(found(unavailable), quickFull)).toMatchObject({
      kind: 'preflight-retry',
      releasePlace: false,
    })
    const later = facts({ preflight: { mode: 'enforce', retries: 5, outcome: unavailable } })
    expect(decideSubmit(later, taken)).toMatchObject({
      kind: 'preflight-retry',
      retries: 6,
      until: now + 24_000,
    })
    const old = record({ created_at: new Date(now - 3_600_001).toISOString() })
    expect(decideSubmit(facts({ record: old }), start)).toMatchObject({
      kind: 'fail',
      error: { source: 'service', code: 'deadline_exceeded' },
    })
  })
})
