import type { AcceptedQuickImport } from '../quick-import-validation.js'
import type { ObsStore } from './obs-store.js'

/** Quick import takes files up to 1 TB (ims-api.md §6), taken as 1 TiB. */
export const MAX_QUICK_IMPORT_BYTES = 2 ** 40
const GIB = 2 ** 30

export type FileVerdict =
  | { ok: true; sizeBytes: number }
  | { ok: false; code: string; reason: string; sizeBytes: number | null }

/** `disks/a.raw` -> `disks/a.mf`: the bitmap a RAW file needs beside it (ims-api.md §8). */
export function bitmapKeyFor(objectKey: string): string {
  const slash = objectKey.lastIndexOf('/')
  const dot = objectKey.lastIndexOf('.')
  return `${dot > slash ? objectKey.slice(0, dot) : objectKey}.mf`
}

/**
 * How IMS judges the image file of an accepted quick import, once its job runs (ims-api.md §3, §6,
 * §8; codes from ims-error-codes.tsv). The first failing check wins, in the order IMS meets them:
 * the bucket (its region, then whether it exists), the object, its size, its storage class, the
 * disk it must fit in, and for RAW the bitmap beside it.
 * - bucket in another region: IMG.0058 (its message says exactly that);
 * - bucket or object missing: IMG.0057 ("empty, not found, ... or you do not have enough
 *   permission to access the file");
 * - over 1 TB: IMG.0059 ("exceeds the maximum allowed");
 * - bucket or object not Standard: IMG.0069 "The specified bucket cannot be accessed": the page
 *   puts the rule on the bucket ("the bucket's storage class must be Standard"), and it is the
 *   table's only code for a bucket IMS cannot use; it also keeps this mistake apart from a missing
 *   file (0057);
 * - min_disk (GB) below the file size: IMG.0055 "The memory or disk size is invalid." (the
 *   table's code for a wrong min_disk; the disk must hold the file);
 * - RAW without `<base>.mf`: IMG.1075 "Failed to register the image file.": the file itself is
 *   there and readable (so not 0057), but IMS cannot register a RAW file for fast create (lazy
 *   loading) without its bitmap.
 */
export function judgeImageFile(obs: ObsStore, request: AcceptedQuickImport, region: string): FileVerdict {
  const bucket = obs.bucket(request.bucket)
  if (bucket && bucket.region !== region) {
    return {
      ok: false,
      code: 'IMG.0058',
      reason: `bucket in ${bucket.region}, not ${region}`,
      sizeBytes: null,
    }
  }
  const object = bucket?.objects.get(request.objectKey)
  if (!bucket || !object) {
    return {
      ok: false,
      code: 'IMG.0057',
      reason: bucket ? 'no such object' : 'no such bucket',
      sizeBytes: null,
    }
  }
  const sizeBytes = object.size
  if (sizeBytes > MAX_QUICK_IMPORT_BYTES) {
    return { ok: false, code: 'IMG.0059', reason: 'file over 1 TB', sizeBytes }
  }
  if (bucket.storageClass !== 'STANDARD' || object.storageClass !== 'STANDARD') {
    return { ok: false, code: 'IMG.0069', reason: 'bucket or object not of the Standard class', sizeBytes }
  }
  if (request.minDisk * GIB < sizeBytes) {
    return { ok: false, code: 'IMG.0055', reason: 'min_disk smaller than the file', sizeBytes }
  }
  if (request.diskFormat === 'raw' && !bucket.objects.has(bitmapKeyFor(request.objectKey))) {
    return { ok: false, code: 'IMG.1075', reason: 'RAW file without its .mf bitmap', sizeBytes }
  }
  return { ok: true, sizeBytes }
}
