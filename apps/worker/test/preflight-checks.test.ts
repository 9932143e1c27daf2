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
import { decideSubmit, type SubmitFacts } from '../src/processors/submit-decision.js'

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
    settings: { retryBaseMs: 1000, retryMaxMs: 60_000 } as SubmitFacts['settings'],
    locked: true,
    random: () => 0.5,
    preflight: { mode: 'enforce', retries: 0 },
    ...o,
  })
  const failed = {
    kind: 'preflight',
    outcome: { kind: 'failed', code: 'preflight_wrong_region', message: 'bucket in eu-nl' },
  } as const

  it('checks a queued import before a place; not one with a recent file, nor a submitting one', () => {
    expect(decideSubmit(facts(), { kind: 'start' })).toEqual({ kind: 'preflight' })
    const file = {
      size_bytes: 1,
      storage_class: 'STANDARD',
      region: 'eu-de',
      checked_at: new Date(now - 60_000).toISOString(),
    }
    expect(decideSubmit(facts({ record: record({ file }) }), { kind: 'start' }).kind).toBe('take-place')
    const stale = { ...file, checked_at: new Date(now - PREFLIGHT_FRESH_MS - 1).toISOString() }
    expect(needsPreflight(record({ file: stale }), now)).toBe(true)
    expect(decideSubmit(facts({ record: record({ status: 'submitting' }) }), { kind: 'start' }).kind).toBe(
      'lookup',
    )
    const { preflight: _, ...off } = facts()
    expect(decideSubmit(off, { kind: 'start' }).kind).toBe('take-place')
  })

  it('enforce: a failed check fails the import with source preflight; warn: it goes on', () => {
    expect(decideSubmit(facts(), failed)).toEqual({
      kind: 'fail',
      error: { source: 'preflight', code: 'preflight_wrong_region', message: 'bucket in eu-nl' },
      reason: 'pre-flight: preflight_wrong_region',
    })
    expect(decideSubmit(facts({ preflight: { mode: 'warn', retries: 0 } }), failed).kind).toBe('take-place')
    expect(decideSubmit(facts(), { kind: 'preflight', outcome: { kind: 'passed' } }).kind).toBe('take-place')
    expect(decideSubmit(facts(), { kind: 'preflight', outcome: { kind: 'unchecked' } }).kind).toBe(
      'take-place',
    )
  })

  it('OBS without an answer: retried with growing backoff, never a failure; the deadline still holds', () => {
    const unavailable = { kind: 'preflight', outcome: { kind: 'unavailable', message: 'HTTP 503' } } as const
    const first = decideSubmit(facts(), unavailable)
    expect(first).toEqual({ kind: 'preflight-retry', until: now + 750, retries: 1, message: 'HTTP 503' })
    const later = decideSubmit(facts({ preflight: { mode: 'enforce', retries: 5 } }), unavailable)
    expect(later).toMatchObject({ kind: 'preflight-retry', retries: 6, until: now + 24_000 })
    const old = record({ created_at: new Date(now - 3_600_001).toISOString() })
    expect(decideSubmit(facts({ record: old }), { kind: 'start' })).toMatchObject({
      kind: 'fail',
      error: { source: 'service', code: 'deadline_exceeded' },
    })
  })
})
