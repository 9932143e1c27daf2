import type { FileInfo, ImportRecord, TargetConfig } from '@ims-importer/core'

// The pre-flight's checks of an image file, pure: what OBS said about the bucket and the object
// -> passed (with the file as found) or the first failed check, with a code and a plain reason.
// What is checked, the codes and why: docs/preflight.md. The OBS reads: preflight-obs.ts.

export type PreflightMode = 'enforce' | 'warn' | 'off'

/** Quick import takes files up to 1 TB (ims-api.md §6), taken as 1 TiB as the simulator does. */
export const MAX_IMAGE_BYTES = 2 ** 40
const GIB = 2 ** 30

/** A `file` checked this recently (ms) is not checked again by a re-run of the submit job. */
export const PREFLIGHT_FRESH_MS = 60 * 60_000

/** The target's mode: as configured, else enforce with OBS access and off without. */
export function preflightModeOf(target: Pick<TargetConfig, 'preflight' | 'obs'>): PreflightMode {
  if (!target.obs) return 'off'
  return target.preflight ?? 'enforce'
}

/**
 * The region a bucket must be in: the target's `region`, else the one in its OBS endpoint's
 * host (`obs.<region>.otc.t-systems.com`, `obs.<region>.myhuaweicloud.com`); null: not checked.
 */
export function targetRegionOf(target: Pick<TargetConfig, 'region' | 'obs'>): string | null {
  if (target.region) return target.region
  if (!target.obs) return null
  const host = URL.canParse(target.obs.endpoint) ? new URL(target.obs.endpoint).hostname : ''
  const m = /^obs\.([a-z0-9-]+)\.(?:otc\.t-systems\.com|myhuaweicloud\.com)$/.exec(host)
  return m ? (m[1] as string) : null
}

/** The image file a quick-import body names. */
export interface ImageFile {
  bucket: string
  key: string
  format: 'raw' | 'zvhd2'
  minDiskGb: number
  /** ECS/BMS system image (min_disk is its system disk); false for a DataImage. */
  systemDisk: boolean
}

/** `bucket:key` of the body, or null when it does not name one (intake validated it: not expected). */
export function imageFileOf(request: ImportRecord['request']): ImageFile | null {
  const url = request.image_url
  if (typeof url !== 'string') return null
  const colon = url.indexOf(':')
  if (colon <= 0 || colon === url.length - 1) return null
  const key = url.slice(colon + 1)
  const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase()
  return {
    bucket: url.slice(0, colon),
    key,
    // IMS takes RAW or ZVHD2 (intake checked the extension); anything not zvhd2 is RAW.
    format: ext === 'zvhd2' ? 'zvhd2' : 'raw',
    minDiskGb: Number(request.min_disk),
    systemDisk: request.type !== 'DataImage',
  }
}

/** `disks/a.raw` -> `disks/a.mf`: the bitmap a RAW file needs beside it (ims-api.md §8). */
export function bitmapKeyFor(key: string): string {
  const slash = key.lastIndexOf('/')
  const dot = key.lastIndexOf('.')
  return `${dot > slash ? key.slice(0, dot) : key}.mf`
}

export type Presence = { kind: 'not-found' } | { kind: 'forbidden' }

/** What OBS answered for one import (preflight-obs.ts reads it). */
export interface ObsFacts {
  bucket: { kind: 'found'; region: string | null; storageClass: string | null } | Presence
  object: { kind: 'found'; sizeBytes: number; storageClass: string } | Presence
  /** `<base>.mf`, read for RAW files only. */
  bitmap?: { kind: 'found' } | Presence
}

export type PreflightVerdict =
  | { ok: true; file: FileInfo }
  | { ok: false; code: PreflightCode; message: string; file: FileInfo | null }

/** The failure codes (error.code with error.source 'preflight'); docs/preflight.md. */
export type PreflightCode =
  | 'preflight_bucket_missing'
  | 'preflight_object_missing'
  | 'preflight_object_unreadable'
  | 'preflight_wrong_region'
  | 'preflight_too_large'
  | 'preflight_not_standard'
  | 'preflight_disk_too_small'
  | 'preflight_bitmap_missing'

const gib = (bytes: number) => `${(bytes / GIB).toFixed(1)} GiB`

/**
 * Judges one image file from what OBS said. The first failed check wins, in this order: the
 * bucket (there, readable, in the target's region, Standard), the object (there, readable, at most
 * 1 TB, Standard), the disk it must fit in (system images), the bitmap beside a RAW file.
 */
export function judgePreflight(
  image: ImageFile,
  facts: ObsFacts,
  targetRegion: string | null,
  checkedAt: Date,
): PreflightVerdict {
  const where = `${image.bucket}:${image.key}`
  const fail = (code: PreflightCode, message: string, file: FileInfo | null = null): PreflightVerdict => ({
    ok: false,
    code,
    message,
    file,
  })
  const { bucket, object } = facts
  if (bucket.kind === 'not-found')
    return fail('preflight_bucket_missing', `bucket ${image.bucket} does not exist`)
  if (bucket.kind === 'forbidden' || object.kind === 'forbidden')
    return fail(
      'preflight_object_unreadable',
      `${where} cannot be read with the target's OBS credentials (access denied)`,
    )
  if (targetRegion !== null && bucket.region !== null && bucket.region !== targetRegion)
    return fail(
      'preflight_wrong_region',
      `bucket ${image.bucket} is in ${bucket.region}; IMS in ${targetRegion} imports only from buckets in its own region`,
    )
  if (object.kind === 'not-found') return fail('preflight_object_missing', `${where} does not exist`)
  const file: FileInfo = {
    size_bytes: object.sizeBytes,
    storage_class: object.storageClass,
    region: bucket.region,
    checked_at: checkedAt.toISOString(),
  }
  if (object.sizeBytes === 0) return fail('preflight_object_missing', `${where} is empty`, file)
  if (object.sizeBytes > MAX_IMAGE_BYTES)
    return fail(
      'preflight_too_large',
      `${where} is ${gib(object.sizeBytes)}; quick import takes files up to 1 TB`,
      file,
    )
  const notStandard = [
    ...(bucket.storageClass !== null && bucket.storageClass !== 'STANDARD'
      ? [`bucket ${image.bucket} is ${bucket.storageClass}`]
      : []),
    ...(object.storageClass !== 'STANDARD' ? [`the object is ${object.storageClass}`] : []),
  ]
  if (notStandard.length > 0)
    return fail(
      'preflight_not_standard',
      `${notStandard.join(' and ')}; IMS imports only from the Standard storage class`,
      file,
    )
  if (image.systemDisk && Number.isFinite(image.minDiskGb) && image.minDiskGb * GIB < object.sizeBytes)
    return fail(
      'preflight_disk_too_small',
      `min_disk ${image.minDiskGb} GB is smaller than the file (${gib(object.sizeBytes)}); the system disk must hold it`,
      file,
    )
  if (image.format === 'raw' && facts.bitmap && facts.bitmap.kind !== 'found')
    return fail(
      'preflight_bitmap_missing',
      `a RAW file needs its bitmap ${image.bucket}:${bitmapKeyFor(image.key)} beside it (made by CreateMF.jar)`,
      file,
    )
  return { ok: true, file }
}

/** Whether a run must check the file: a queued import without a recent `file`. */
export function needsPreflight(record: ImportRecord, now: number, freshMs = PREFLIGHT_FRESH_MS): boolean {
  if (record.status !== 'queued') return false
  const checked = record.file ? Date.parse(record.file.checked_at) : Number.NaN
  return !(Number.isFinite(checked) && now - checked < freshMs)
}
