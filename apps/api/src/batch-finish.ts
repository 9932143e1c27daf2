import {
  durationModelKey,
  estimateFrom,
  expectedBatchFinish,
  type ImportStatus,
  type Keys,
  type ModelLists,
  modelListNames,
  parseDurations,
  type Redis,
  type SizedDuration,
  type SizeHint,
  sizedDurations,
  sizeHintOf,
  WaitingState,
} from '@ims-importer/core'
import { z } from 'zod'

// A batch's expected finish (GET /v1/batches/{id}): its running imports end when the poll planner
// expects (their records' expected_finish.at), its queued ones take the places those free, each for
// the target's duration model's median at its size (core expectedBatchFinish, per target): the
// file's size once the pre-flight read it, else min_disk (sizeHintOf), as the worker sizes it. Why:
// docs/poll-planner.md ("Expected finish").
//
// Cost, whatever the batch's size (up to 1000 imports): three round trips. The batch's open imports
// by status (ZINTER of the batch's index with each status index: Redis walks the smaller set, the
// batch's), their records (one MGET; final imports are never read, so a batch costs less as it
// ends), the duration lists of each distinct target and size bucket (one pipeline). The open
// records are read once per view (readOpenImports): the view's `waiting` summary reads them too.
// CPU: one estimate per distinct target and size; the fit against size once per target and kind
// (core keeps it by its list).

/** Statuses of a batch's imports that have not ended: queued, or holding a place on their target. */
const OpenStatus = z.enum(['queued', 'submitting', 'submitted', 'running'])
const OPEN: readonly ImportStatus[] = OpenStatus.options

/** Places a target has when the config does not name it (TargetConfig's default maxInFlight). */
const DEFAULT_PLACES = 40

/** What the batch view reads of an open import's record; anything else in it is ignored. */
const OpenImport = z.object({
  target: z.string(),
  status: OpenStatus,
  request: z.object({ min_disk: z.number().optional() }).loose(),
  /** The image file as the pre-flight found it: its size sizes the import when known. */
  file: z.object({ size_bytes: z.number() }).loose().nullable().optional(),
  expected_finish: z.object({ at: z.string() }).loose().nullable().optional(),
  waiting: WaitingState.nullable().optional(),
})
export type OpenImport = z.infer<typeof OpenImport>

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

/** Exact sizes, so that imports of one size share their estimate. */
const sizeKey = (size: SizeHint | null) =>
  size === null ? 'any' : size.kind === 'file-bytes' ? `f${size.bytes}` : `d${size.gb}`

/** Results of a pipeline, in order; a failed command fails the whole read. */
async function execAll(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? []
  return results.map(([err, value]) => {
    if (err) throw err
    return value
  })
}

/**
 * The batch's open imports (queued, submitting, submitted, running) in item order, with the
 * fields the view needs; none when its counts show no open import. Two round trips.
 */
export async function readOpenImports(
  deps: Pick<BatchFinishDeps, 'redis' | 'keys'>,
  batchId: string,
  counts: Readonly<Record<ImportStatus, number>>,
): Promise<OpenImport[]> {
  const { redis, keys } = deps
  const statuses = OPEN.filter((s) => (counts[s] ?? 0) > 0)
  if (statuses.length === 0) return []
  // The batch's open import ids (scores: the item index, weight 0 on the status set).
  const byStatus = redis.pipeline()
  for (const s of statuses)
    byStatus.zinter(2, keys.batchImports(batchId), keys.statusImports(s), 'WEIGHTS', 1, 0)
  const ids = (await execAll(byStatus)).flatMap((v) => (Array.isArray(v) ? (v as string[]) : []))
  if (ids.length === 0) return []
  // Their records, read raw: only the fields above are parsed; one that moved on is left out.
  const raws = await redis.mget(ids.map((id) => keys.import(id)))
  const open: OpenImport[] = []
  for (const raw of raws) {
    if (raw === null) continue
    let parsed: ReturnType<typeof OpenImport.safeParse>
    try {
      parsed = OpenImport.safeParse(JSON.parse(raw))
    } catch {
      continue
    }
    if (parsed.success) open.push(parsed.data)
  }
  return open
}

/**
 * The expected finish of a batch from its open imports (readOpenImports); null when there is none
 * (the batch has ended) or nothing is known of any of them. One round trip (the model's lists).
 */
export async function expectedFinishOf(
  deps: BatchFinishDeps,
  open: readonly OpenImport[],
  now: number = Date.now(),
): Promise<BatchFinish | null> {
  const { redis, keys } = deps
  if (open.length === 0) return null

  // The duration model's lists of each distinct target and size bucket, in one pipeline.
  const needModel = open.filter((r) => r.status === 'queued' || r.status === 'submitting')
  // Each list's Redis key, and whether it holds `<bytes>:<ms>` pairs (a `<kind>-size-ms` list).
  const toRead = new Map<string, boolean>()
  const listKey = (target: string, name: string) => durationModelKey(keys, target, name)
  for (const r of needModel) {
    toRead.set(listKey(r.target, 'any'), false)
    const names = modelListNames(sizeHintOf(r))
    if (!names) continue
    toRead.set(listKey(r.target, names.bucket), false)
    toRead.set(listKey(r.target, names.perByte), false)
    toRead.set(listKey(r.target, names.sized), true)
  }
  // Each list parsed once, by its key: one array per list, so core sorts and fits it once.
  const durations = new Map<string, number[]>()
  const pairs = new Map<string, SizedDuration[]>()
  if (toRead.size > 0) {
    const read = redis.pipeline()
    for (const key of toRead.keys()) read.lrange(key, 0, -1)
    const raw = await execAll(read)
    let i = 0
    for (const [key, sized] of toRead) {
      if (sized) pairs.set(key, sizedDurations(raw[i]))
      else durations.set(key, parseDurations(raw[i]))
      i++
    }
  }
  const durationsAt = (target: string, name: string) => durations.get(listKey(target, name)) ?? []
  const medians = new Map<string, number | null>()
  const medianOf = (r: OpenImport): number | null => {
    const size = sizeHintOf(r)
    const memo = `${r.target}\n${sizeKey(size)}`
    if (!medians.has(memo)) {
      const names = modelListNames(size)
      const any = durationsAt(r.target, 'any')
      const model: ModelLists = names
        ? {
            any,
            bucket: durationsAt(r.target, names.bucket),
            perByte: durationsAt(r.target, names.perByte),
            sized: pairs.get(listKey(r.target, names.sized)) ?? [],
          }
        : { any, bucket: [], perByte: [], sized: [] }
      medians.set(memo, estimateFrom(model, size)?.medianMs ?? null)
    }
    return medians.get(memo) ?? null
  }

  // List scheduling per target, on the target's places; the batch ends with its last target.
  const perTarget = new Map<string, { running: (number | null)[]; queuedMs: (number | null)[] }>()
  let known = 0
  // A queued import waiting for its target (submissions paused, image quota) starts when the
  // pause ends, which nobody knows: scheduled as if now, so the batch's end is a lower bound.
  let paused = false
  for (const r of open) {
    const group = perTarget.get(r.target) ?? { running: [], queuedMs: [] }
    perTarget.set(r.target, group)
    if (r.status === 'queued') {
      const ms = medianOf(r)
      if (ms !== null) known++
      if (r.waiting) paused = true
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
  let complete = !paused
  for (const [target, group] of perTarget) {
    const finish = expectedBatchFinish({ now, ...group, places: deps.places[target] ?? DEFAULT_PLACES })
    if (!finish.complete) complete = false
    if (finish.at !== null) at = Math.max(at, finish.at)
  }
  return Number.isFinite(at) ? { at: new Date(at).toISOString(), complete } : null
}
