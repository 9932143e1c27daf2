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
  /**
   * Where it comes from: this size bucket, the target's duration fitted against size, the
   * target's time per byte scaled to this size, or all the target's imports.
   */
  basis: 'bucket' | 'size-fit' | 'per-byte' | 'target'
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
 * What is known of an import's size, for the duration model: the image file's size when the
 * pre-flight read it from OBS (record `file`), else `min_disk` (GB). Takes any record-like shape
 * (the batch view reads records partly).
 */
export function sizeHintOf(record: {
  file?: { size_bytes: number } | null
  request: { min_disk?: unknown }
}): SizeHint | null {
  const bytes = record.file?.size_bytes
  if (bytes !== undefined && bytes > 0) return { kind: 'file-bytes', bytes }
  const gb = Number(record.request.min_disk)
  return Number.isFinite(gb) && gb > 0 ? { kind: 'disk-gb', gb } : null
}

/**
 * The bucket of a size: `<kind><floor(log2 bytes)>`, e.g. min_disk 40 GB -> `d35`, a 12 GiB file
 * -> `f33`; `any` when the size is unknown. Part of the persistent key layout.
 */
export function sizeBucket(size: SizeHint | null): string {
  return modelListNames(size)?.bucket ?? 'any'
}

/** The lists of a target's model that an import of a known size reads and feeds besides `any`. */
export interface ModelListNames {
  /** Its size bucket (sizeBucket), e.g. `d35`. */
  bucket: string
  /** The target's ms per byte of the size's kind: `d-per-byte` / `f-per-byte`. */
  perByte: string
  /** The target's `<bytes>:<ms>` pairs of the size's kind: `d-size-ms` / `f-size-ms`. */
  sized: string
}

/**
 * The names of the lists a size reads besides `any` (the bucket argument of durationModelKey);
 * null when the size is unknown or unusable (only `any` then). Part of the persistent key layout.
 */
export function modelListNames(size: SizeHint | null): ModelListNames | null {
  const s = sizeBytes(size)
  return s
    ? {
        bucket: `${s.kind}${Math.floor(Math.log2(s.bytes))}`,
        perByte: `${s.kind}-per-byte`,
        sized: `${s.kind}-size-ms`,
      }
    : null
}

/**
 * Redis key of one list of a target's model (keys.durationModel, in the persistent layout):
 * bucket is a size bucket (sizeBucket), `any` (every import of the target, whatever its size),
 * `d-per-byte` / `f-per-byte` (the target's ms per byte) or `d-size-ms` / `f-size-ms` (the
 * target's `<bytes>:<ms>` pairs, for the fit of duration against size).
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

/** One finished import's size (bytes) and duration (ms): the points of the fit of duration against size. */
export interface SizedDuration {
  bytes: number
  ms: number
}

/** The lists an estimate reads: durations of the size bucket and of the whole target, ms per byte. */
export interface ModelLists {
  bucket: readonly number[]
  any: readonly number[]
  perByte: readonly number[]
  /** The target's recent (size, duration) pairs of the size's kind; without them, no fit. */
  sized?: readonly SizedDuration[]
}

type Quantiles = ReturnType<typeof summary>

/**
 * `fn` kept by its list (the list's identity, in a WeakMap): a caller that estimates many sizes
 * from the same lists (a batch's view) computes it once per list.
 */
function memoByList<L extends object, R extends object | null>(fn: (list: L) => R): (list: L) => R {
  const memo = new WeakMap<L, R>()
  return (list) => {
    const known = memo.get(list)
    if (known !== undefined) return known
    const value = fn(list)
    memo.set(list, value)
    return value
  }
}

/** The summary of one of a model's lists, sorted once per list. */
const listSummary = memoByList((list: readonly number[]) => summary(list))

/** ln(p90 / p10): how far apart an answer's imports fell, whatever the unit. */
const logSpread = (q: Quantiles) => Math.log(q.p90 / q.p10)
/**
 * How much narrower a later answer must be to replace an earlier one: the lists of imports all
 * of one size are each other scaled by that size, equal but for rounding.
 */
const NARROWER = 0.99

const scaled = (q: Quantiles, by: number): Quantiles => ({
  p10: q.p10 * by,
  median: q.median * by,
  p90: q.p90 * by,
})

/**
 * Duration = a + b x size fitted to the pairs by Theil-Sen (b the median slope between pairs of
 * different sizes, a the median of ms - b x bytes: a few stuck jobs do not pull it), as IMS's time
 * is a setup plus the bytes at some throughput. Its quantiles at `bytes`: the fit there times the
 * quantiles of the pairs' duration / fit. Null without `need` pairs, with one size only, with a
 * slope that does not grow with the size, or with a fit that is not positive at every size used.
 */
function sizeFit(pairs: readonly SizedDuration[], bytes: number, need: number): Quantiles | null {
  if (pairs.length < need) return null
  const line = fittedLine(pairs)
  if (!line) return null
  const at = line.a + line.b * bytes
  return at > 0 ? scaled(line.ratios, at) : null
}

/** The Theil-Sen line of sizeFit and the quantiles of duration / line, or null (see there). */
interface FittedLine {
  a: number
  b: number
  ratios: Quantiles
}

/**
 * The line fitted to the pairs, once per list of pairs: a caller that estimates many sizes from
 * one list (a batch's view) fits it once; O(n^2) slopes for n pairs (n <= 64).
 */
const fittedLine = memoByList(fitLine)

function fitLine(pairs: readonly SizedDuration[]): FittedLine | null {
  const slopes: number[] = []
  for (let i = 0; i < pairs.length; i++)
    for (let j = i + 1; j < pairs.length; j++) {
      const p = pairs[i] as SizedDuration
      const q = pairs[j] as SizedDuration
      if (p.bytes !== q.bytes) slopes.push((q.ms - p.ms) / (q.bytes - p.bytes))
    }
  if (slopes.length === 0) return null
  const b = summary(slopes).median
  if (!(b > 0)) return null
  const a = summary(pairs.map((p) => p.ms - b * p.bytes)).median
  const fit = (x: number) => a + b * x
  if (pairs.some((p) => !(fit(p.bytes) > 0))) return null
  return { a, b, ratios: summary(pairs.map((p) => p.ms / fit(p.bytes))) }
}

/**
 * Pure: the estimate from the lists. A known size has up to three answers: its size bucket's
 * durations (imports within 2x of its size), the target's duration fitted against size
 * (sizeFit), and the target's time per byte times the size. Each answer's spread,
 * ln(p90 / p10), is how far its imports fell from it, and the narrowest wins (in that order
 * when within 1%): the fit or per byte where durations grow with the size (a bucket still spans
 * 2x of it), the bucket where they do not. A list needs `minSamples` to answer, the fit twice
 * that (two parameters from the same points). An unknown size, or no history by size, takes all
 * the target's imports. Why: docs/poll-planner.md, "Duration model in Redis".
 */
export function estimateFrom(
  lists: ModelLists,
  size: SizeHint | null,
  minSamples = 5,
): DurationEstimate | null {
  const s = sizeBytes(size)
  const answers: { q: Quantiles; samples: number; basis: DurationEstimate['basis'] }[] = []
  if (s && lists.bucket.length >= minSamples)
    answers.push({ q: listSummary(lists.bucket), samples: lists.bucket.length, basis: 'bucket' })
  if (s && lists.sized) {
    const fit = sizeFit(lists.sized, s.bytes, 2 * minSamples)
    if (fit) answers.push({ q: fit, samples: lists.sized.length, basis: 'size-fit' })
  }
  if (s && lists.perByte.length >= minSamples)
    answers.push({
      q: scaled(listSummary(lists.perByte), s.bytes),
      samples: lists.perByte.length,
      basis: 'per-byte',
    })
  if (answers.length === 0 && lists.any.length >= minSamples)
    answers.push({ q: listSummary(lists.any), samples: lists.any.length, basis: 'target' })
  let best = answers[0]
  for (const x of answers) if (best && logSpread(x.q) < NARROWER * logSpread(best.q)) best = x
  return best
    ? {
        medianMs: best.q.median,
        p10Ms: best.q.p10,
        p90Ms: best.q.p90,
        samples: best.samples,
        basis: best.basis,
      }
    : null
}

/** Entries of a durations list (`any`, a size bucket, `<kind>-per-byte`); unusable ones are left out. */
export const parseDurations = (raw: unknown): number[] =>
  Array.isArray(raw) ? raw.map(Number).filter((n) => Number.isFinite(n) && n > 0) : []

/** Entries `<bytes>:<ms>` of a `<kind>-size-ms` list; unusable ones are left out. */
export const sizedDurations = (raw: unknown): SizedDuration[] =>
  (Array.isArray(raw) ? raw : []).flatMap((entry) => {
    const [bytes, ms] = String(entry).split(':').map(Number)
    return bytes !== undefined && ms !== undefined && bytes > 0 && ms > 0 ? [{ bytes, ms }] : []
  })

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
      const names = modelListNames(size)
      // One MULTI: every key carries the namespace's hash tag, so they share a cluster slot.
      const tx = redis.multi()
      const push = (bucket: string, value: number | string) => {
        tx.lpush(key(target, bucket), String(value))
        tx.ltrim(key(target, bucket), 0, keep - 1)
      }
      const ms = Math.round(durationMs)
      push('any', ms)
      if (s && names) {
        push(names.bucket, ms)
        push(names.perByte, durationMs / s.bytes)
        push(names.sized, `${Math.round(s.bytes)}:${ms}`)
      }
      await tx.exec()
    },
    async estimate(target, size) {
      const names = modelListNames(size)
      const buckets = names ? ['any', names.bucket, names.perByte, names.sized] : ['any']
      const pipeline = redis.pipeline()
      for (const b of buckets) pipeline.lrange(key(target, b), 0, -1)
      const [any = [], bucket = [], perByte = [], sized = []] = ((await pipeline.exec()) ?? []).map(
        ([err, value]) => {
          if (err) throw err
          return value
        },
      )
      return estimateFrom(
        {
          any: parseDurations(any),
          bucket: parseDurations(bucket),
          perByte: parseDurations(perByte),
          sized: sizedDurations(sized),
        },
        size,
        minSamples,
      )
    },
  }
}
