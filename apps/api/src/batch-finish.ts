import {
  durationModelKey,
  estimateFrom,
  expectedBatchFinish,
  type ImportStatus,
  type Keys,
  type ModelLists,
  type Redis,
  type SizeHint,
  sizeBucket,
} from '@ims-importer/core'
import { z } from 'zod'

// A batch's expected finish (GET /v1/batches/{id}): its running imports end when the poll planner
// expects (their records' expected_finish.at), its queued ones take the places those free, each for
// the target's duration model's median at its size (core expectedBatchFinish, per target). Why:
// docs/poll-planner.md ("Expected finish").
//
// Cost, whatever the batch's size (up to 1000 imports): three round trips. The batch's open imports
// by status (ZINTER of the batch's index with each status index: Redis walks the smaller set, the
// batch's), their records (one MGET; final imports are never read, so a batch costs less as it
// ends), the duration lists of each distinct target and size bucket (one pipeline).

/** Statuses whose imports hold a place: their end is expected (or, while submitting, about to start). */
const HOLDING: readonly ImportStatus[] = ['submitting', 'submitted', 'running']
const OPEN: readonly ImportStatus[] = ['queued', ...HOLDING]

/** Places a target has when the config does not name it (TargetConfig's default maxInFlight). */
const DEFAULT_PLACES = 40

/** What a batch's expected finish reads of a record; anything else in it is ignored. */
const EtaFields = z.object({
  target: z.string(),
  status: z.string(),
  request: z.object({ min_disk: z.number().optional() }).loose(),
  expected_finish: z.object({ at: z.string() }).loose().nullable().optional(),
})
type EtaFields = z.infer<typeof EtaFields>

export interface BatchFinish {
  /** When the batch's last open import is expected to end (ISO-8601 UTC). */
  at: string
  /** False when some open import's expectation is unknown: `at` is then a lower bound. */
  complete: boolean
}

export interface BatchFinishDeps {
  redis: Redis
  keys: Keys
  /** Each target's in-flight cap; a target not listed has the default 40. */
  places: Readonly<Record<string, number>>
}

const sizeOf = (r: EtaFields): SizeHint | null =>
  r.request.min_disk === undefined ? null : { kind: 'disk-gb', gb: r.request.min_disk }

const modelBuckets = (size: SizeHint | null) => {
  const bucket = sizeBucket(size)
  return bucket === 'any'
    ? { bucket: null, perByte: null }
    : { bucket, perByte: `${size?.kind === 'file-bytes' ? 'f' : 'd'}-per-byte` }
}

const numbers = (raw: unknown): number[] =>
  Array.isArray(raw) ? raw.map(Number).filter((n) => Number.isFinite(n) && n > 0) : []

/** Results of a pipeline, in order; a failed command fails the whole read. */
async function execAll(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? []
  return results.map(([err, value]) => {
    if (err) throw err
    return value
  })
}

/**
 * The expected finish of a batch from its counts by status; null when the batch has no open
 * import (it has ended) or nothing is known of any of them.
 */
export async function batchExpectedFinish(
  deps: BatchFinishDeps,
  batchId: string,
  counts: Readonly<Record<ImportStatus, number>>,
  now: number = Date.now(),
): Promise<BatchFinish | null> {
  const { redis, keys } = deps
  const statuses = OPEN.filter((s) => (counts[s] ?? 0) > 0)
  if (statuses.length === 0) return null

  // 1. The batch's open import ids, in item order (scores: the item index, weight 0 on the status set).
  const byStatus = redis.pipeline()
  for (const s of statuses)
    byStatus.zinter(2, keys.batchImports(batchId), keys.statusImports(s), 'WEIGHTS', 1, 0)
  const ids = (await execAll(byStatus)).flatMap((v) => (Array.isArray(v) ? (v as string[]) : []))
  if (ids.length === 0) return null

  // 2. Their records, read raw: only the few fields above are parsed.
  const raws = await redis.mget(ids.map((id) => keys.import(id)))
  const open: EtaFields[] = []
  for (const raw of raws) {
    if (raw === null) continue
    let parsed: ReturnType<typeof EtaFields.safeParse>
    try {
      parsed = EtaFields.safeParse(JSON.parse(raw))
    } catch {
      continue
    }
    if (parsed.success && OPEN.includes(parsed.data.status as ImportStatus)) open.push(parsed.data)
  }
  if (open.length === 0) return null

  // 3. The duration model's lists of each distinct target and size bucket, in one pipeline.
  const needModel = open.filter((r) => r.status === 'queued' || r.status === 'submitting')
  const listKeys = new Map<string, number>()
  const listKey = (target: string, bucket: string) => durationModelKey(keys, target, bucket)
  for (const r of needModel) {
    const { bucket, perByte } = modelBuckets(sizeOf(r))
    for (const b of ['any', bucket, perByte])
      if (b !== null && !listKeys.has(listKey(r.target, b))) listKeys.set(listKey(r.target, b), listKeys.size)
  }
  let lists: number[][] = []
  if (listKeys.size > 0) {
    const read = redis.pipeline()
    for (const key of listKeys.keys()) read.lrange(key, 0, -1)
    lists = (await execAll(read)).map(numbers)
  }
  const medians = new Map<string, number | null>()
  const medianOf = (r: EtaFields): number | null => {
    const size = sizeOf(r)
    const { bucket, perByte } = modelBuckets(size)
    const memo = `${r.target}\n${bucket ?? 'any'}`
    if (!medians.has(memo)) {
      const list = (b: string | null) =>
        b === null ? [] : (lists[listKeys.get(listKey(r.target, b)) ?? -1] ?? [])
      const model: ModelLists = { any: list('any'), bucket: list(bucket), perByte: list(perByte) }
      medians.set(memo, estimateFrom(model, size)?.medianMs ?? null)
    }
    return medians.get(memo) ?? null
  }

  // 4. List scheduling per target, on the target's places; the batch ends with its last target.
  const perTarget = new Map<string, { running: (number | null)[]; queuedMs: (number | null)[] }>()
  let known = 0
  for (const r of open) {
    const group = perTarget.get(r.target) ?? { running: [], queuedMs: [] }
    perTarget.set(r.target, group)
    if (r.status === 'queued') {
      const ms = medianOf(r)
      if (ms !== null) known++
      group.queuedMs.push(ms)
    } else if (r.status === 'submitting') {
      // Its POST is on its way: it holds a place and its job is about to start.
      const ms = medianOf(r)
      if (ms !== null) known++
      group.running.push(ms === null ? null : now + ms)
    } else {
      const at = r.expected_finish ? Date.parse(r.expected_finish.at) : Number.NaN
      if (Number.isFinite(at)) known++
      group.running.push(Number.isFinite(at) ? at : null)
    }
  }
  if (known === 0) return null
  let at = Number.NEGATIVE_INFINITY
  let complete = true
  for (const [target, group] of perTarget) {
    const finish = expectedBatchFinish({ now, ...group, places: deps.places[target] ?? DEFAULT_PLACES })
    if (!finish.complete) complete = false
    if (finish.at !== null) at = Math.max(at, finish.at)
  }
  return Number.isFinite(at) ? { at: new Date(at).toISOString(), complete } : null
}
