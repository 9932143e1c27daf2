import type { ImportRecord, SizeHint } from '@ims-importer/core'

/**
 * What is known of an import's size, for the duration model: the image file's size when the
 * pre-flight read it from OBS (record `file`), else `min_disk` (GB).
 */
export function sizeHintOf(record: ImportRecord): SizeHint | null {
  const bytes = record.file?.size_bytes
  if (bytes !== undefined && bytes > 0) return { kind: 'file-bytes', bytes }
  const gb = Number(record.request.min_disk)
  return Number.isFinite(gb) && gb > 0 ? { kind: 'disk-gb', gb } : null
}
