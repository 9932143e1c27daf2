import { createHash } from 'node:crypto'

/** sha256 hex of the input file's bytes. */
export function contentHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** What, besides the file, shapes the body of each chunk: a change here must change the keys. */
export interface ChunkParams {
  chunkSize: number
  /** --target: the target given to items that name none. */
  target?: string
  /** --external-id: the external_id of each batch. */
  externalId?: string
}

/**
 * The Idempotency-Key of chunk `index` (0-based): a pure function of the file's content hash,
 * the options that shape the chunk bodies and the index. A rerun of the same command on the same
 * file sends the same keys, so the API replays the chunks it already accepted instead of
 * creating them again. Same file with other options gives other keys (the bodies differ, and the
 * API would refuse a known key with a different body).
 */
export function chunkKey(fileHash: string, params: ChunkParams, index: number): string {
  const run = createHash('sha256')
    .update(JSON.stringify([fileHash, params.chunkSize, params.target ?? null, params.externalId ?? null]))
    .digest('hex')
    .slice(0, 32)
  return `ims-importer-cli-${run}-${index}`
}

/** Splits items into consecutive chunks of `size` (the last one may be shorter). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer`)
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
