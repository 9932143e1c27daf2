import type { Keys } from './keys.js'
import type { Redis } from './redis.js'

// How long a target's imports take, learnt from finished imports and shared by every worker
// through Redis: the poll planner's history and the expected finish of an import that IMS
// reports no progress for. Why these buckets and this estimate: docs/poll-planner.md

/**
 * What is known of an import's size. `disk-gb` is the quick-import body's `min_disk` (known
 * today); `file-bytes` is the image file's size (once the service reads it from OBS). Both map
 * onto one scale, log2 buckets of bytes, but never share a bucket: a declared disk size and a
 * file size of the same number of bytes are different quantities (a sparse or compressed file
 * is much smaller than its disk).
 */
export type SizeHint = { kind: 'disk-gb'; gb: number } | { kind: 'file-bytes'; bytes: number }

export interface DurationEstimate {
  /** Median duration from submit to IMS's end of the job (ms). */
  medianMs: number
  /** 10th and 90th percentiles (ms); p10 <= median <= p90. */
  p10Ms: number
  p90Ms: number
  /** How many finished imports the estimate rests on. */
  samples: number
  /** Where it comes from: this size bucket, the target's time per byte scaled to this size, or all the target's imports. */
  basis: 'bucket' | 'per-byte' | 'target'
}

export interface DurationModel {
  /** Learns from one finished (succeeded) import: its duration from submit to IMS's end (ms). */
  record(target: string, size: SizeHint | null, durationMs: number): Promise<void>
  /** The duration to expect for an import of this size on this target; null without enough history. */
  estimate(target: string, size: SizeHint | null): Promise<DurationEstimate | null>
}

export interface DurationModelOptions {
  /** Recent durations kept per bucket (bounded memory; older ones drop out). Default 64. */
  keep?: number
  /** Samples a bucket needs before it is trusted. Default 5. */
  minSamples?: number
}

const GIB = 2 ** 30

/** The size in bytes and its kind letter (d = declared disk, f = file), or null if unusable. */
function sizeBytes(size: SizeHint | null): { kind: 'd' | 'f'; bytes: number } | null {
  if (!size) return null
  const bytes = size.kind === 'disk-gb' ? size.gb * GIB : size.bytes
  if (!Number.isFinite(bytes) || bytes < 1) return null
  return { kind: size.kind === 'disk-gb' ? 'd' : 'f', bytes }
}

/**
 * The bucket of a size: `<kind><floor(log2 bytes)>`, e.g. min_disk 40 GB -> `d35`, a 12 GiB file
 * -> `f33`; `any` when the size is unknown. Part of the persistent key layout.
 */
export function sizeBucket(size: SizeHint | null): string {
  const s = sizeBytes(size)
  return s ? `${s.kind}${Math.floor(Math.log2(s.bytes))}` : 'any'
}

/**
 * Redis key of one list of a target's model (keys.durationModel, in the persistent layout):
 * bucket is a size bucket (sizeBucket), `any` (every import of the target, whatever its size) or
 * `d-per-byte` / `f-per-byte` (the target's ms per byte, the prior of a size bucket without
 * enough history).
 */
export function durationModelKey(keys: Keys, target: string, bucket: string): string {
  return keys.durationModel(target, bucket)
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (pos - lo)
}

function summary(values: readonly number[]): { p10: number; median: number; p90: number } {
  const sorted = [...values].sort((a, b) => a - b)
  return { p10: quantile(sorted, 0.1), median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) }
}

/** The lists an estimate reads: durations of the size bucket and of the whole target, ms per byte. */
export interface ModelLists {
  bucket: readonly number[]
  any: readonly number[]
  perByte: readonly number[]
}

/**
 * Pure: the estimate from the lists. A size bucket with enough samples answers for itself; a
 * known size without them takes the target's time per byte times its size (the spread of the
 * per-byte samples kept); an unknown size, or no per-byte history, takes all the target's imports.
 */
export function estimateFrom(
  lists: ModelLists,
  size: SizeHint | null,
  minSamples = 5,
): DurationEstimate | null {
  const s = sizeBytes(size)
  if (s && lists.bucket.length >= minSamples) {
    const q = summary(lists.bucket)
    return { medianMs: q.median, p10Ms: q.p10, p90Ms: q.p90, samples: lists.bucket.length, basis: 'bucket' }
  }
  if (s && lists.perByte.length >= minSamples) {
    const q = summary(lists.perByte)
    return {
      medianMs: q.median * s.bytes,
      p10Ms: q.p10 * s.bytes,
      p90Ms: q.p90 * s.bytes,
      samples: lists.perByte.length,
      basis: 'per-byte',
    }
  }
  if (lists.any.length >= minSamples) {
    const q = summary(lists.any)
    return { medianMs: q.median, p10Ms: q.p10, p90Ms: q.p90, samples: lists.any.length, basis: 'target' }
  }
  return null
}

const numbers = (raw: unknown): number[] =>
  Array.isArray(raw) ? raw.map(Number).filter((n) => Number.isFinite(n) && n > 0) : []

/** The duration model of one namespace (`keys`). */
export function createDurationModel(
  redis: Redis,
  keys: Keys,
  options: DurationModelOptions = {},
): DurationModel {
  const keep = options.keep ?? 64
  const minSamples = options.minSamples ?? 5
  const key = (target: string, bucket: string) => durationModelKey(keys, target, bucket)
  return {
    async record(target, size, durationMs) {
      if (!Number.isFinite(durationMs) || durationMs <= 0) return
      const s = sizeBytes(size)
      // One MULTI: every key carries the namespace's hash tag, so they share a cluster slot.
      const tx = redis.multi()
      const push = (bucket: string, value: number) => {
        tx.lpush(key(target, bucket), String(value))
        tx.ltrim(key(target, bucket), 0, keep - 1)
      }
      push('any', Math.round(durationMs))
      if (s) {
        push(sizeBucket(size), Math.round(durationMs))
        push(`${s.kind}-per-byte`, durationMs / s.bytes)
      }
      await tx.exec()
    },
    async estimate(target, size) {
      const s = sizeBytes(size)
      const buckets = s ? ['any', sizeBucket(size), `${s.kind}-per-byte`] : ['any']
      const pipeline = redis.pipeline()
      for (const b of buckets) pipeline.lrange(key(target, b), 0, -1)
      const [any = [], bucket = [], perByte = []] = ((await pipeline.exec()) ?? []).map(([err, value]) => {
        if (err) throw err
        return numbers(value)
      })
      return estimateFrom({ any, bucket, perByte }, size, minSamples)
    },
  }
}
