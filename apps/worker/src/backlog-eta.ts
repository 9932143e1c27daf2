import {
  createDurationModel,
  type DurationModel,
  expectedBatchFinish,
  type Keys,
  type Queues,
  type Redis,
  type SizeHint,
  type TargetConfig,
} from '@ims-importer/core'
import { Gauge, type Registry } from 'prom-client'
import { z } from 'zod'
import type { Inflight } from './inflight.js'

// The expected finish of each target's backlog, for the dashboard: its running imports end when
// the poll planner expects (the record's expected_finish; without one, submit + the duration
// model's median at the import's size), then its queued imports take the places these free, each
// for the model's median of the target (list scheduling, core expectedBatchFinish, on
// limits.maxInFlight places). Computed at scrape time, at most once per `cacheMs`, with reads
// bounded whatever the backlog: the in-flight set (about the cap), one MGET of those records,
// the submit queue's job counts, a few model lists. Queued imports are counted, not read, so they
// all take the target's median whatever their size.

/** Queued imports simulated one by one at most; each further `places` of them add one median. */
const MAX_SIMULATED = 10_000
/** In-flight members read at most (the cap, plus imports the reconciler has not pruned yet). */
const MAX_RUNNING = 2_000

/** Statuses of an import holding a place. */
const HOLDING = ['submitting', 'submitted', 'running']

const RunningFields = z.object({
  status: z.string(),
  submitted_at: z.string().nullable(),
  request: z.object({ min_disk: z.number().optional() }).loose(),
  expected_finish: z.object({ at: z.string() }).loose().nullable().optional(),
})
type RunningFields = z.infer<typeof RunningFields>

export interface BacklogDeps {
  redis: Redis
  keys: Keys
  queues: Queues
  inflight: Inflight
  targets: readonly TargetConfig[]
  /** Default: the namespace's model on `redis`. */
  durationModel?: DurationModel
}

export interface BacklogOptions {
  /** A computed expectation is reused this long (ms). Default 15 s. */
  cacheMs?: number
  now?: () => number
}

/** A target's backlog: when it is expected to end (ms since epoch); null when nothing is known. */
export interface BacklogFinish {
  at: number | null
  /** False when some import's duration is unknown: `at` is then a lower bound. */
  complete: boolean
  /** Running and queued imports counted. */
  imports: number
}

/** Queued `count` imports of `ms` each on `places` after `running`: exact up to MAX_SIMULATED. */
export function scheduleQueued(
  now: number,
  running: (number | null)[],
  count: number,
  ms: number | null,
  places: number,
) {
  const simulated = Math.min(count, MAX_SIMULATED)
  const finish = expectedBatchFinish({
    now,
    running,
    queuedMs: Array.from({ length: simulated }, () => ms),
    places,
  })
  if (finish.at === null || ms === null || count <= simulated) return finish
  // Beyond, every place is busy with equal imports: each round of `places` adds one duration.
  return {
    at: finish.at + Math.ceil((count - simulated) / Math.max(1, places)) * ms,
    complete: finish.complete,
  }
}

/** Computes one target's backlog finish (no cache). */
export async function backlogFinish(
  deps: BacklogDeps & { durationModel: DurationModel },
  target: TargetConfig,
  now: number,
): Promise<BacklogFinish> {
  const { redis, keys } = deps
  const [ids, counts, typical] = await Promise.all([
    redis.zrange(keys.inflight(target.name), 0, MAX_RUNNING - 1),
    deps.queues.submit(target.name).getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
    deps.durationModel.estimate(target.name, null),
  ])
  const records: RunningFields[] = []
  if (ids.length > 0)
    for (const raw of await redis.mget(ids.map((id) => keys.import(id)))) {
      if (raw === null) continue
      try {
        const parsed = RunningFields.safeParse(JSON.parse(raw))
        // A final import still in the set is being released: it holds nothing any more.
        if (parsed.success && HOLDING.includes(parsed.data.status)) records.push(parsed.data)
      } catch {
        // an unreadable record counts as unknown below
      }
    }
  // Active submit jobs are either taking their POST (they hold a place: in the in-flight set,
  // status submitting) or waiting in a worker for a place: only the latter are queued.
  const submitting = records.filter((r) => r.status === 'submitting').length
  const queued =
    (counts.waiting ?? 0) +
    (counts.prioritized ?? 0) +
    (counts.delayed ?? 0) +
    Math.max(0, (counts.active ?? 0) - submitting)

  const bySize = new Map<string, Promise<number | null>>()
  const medianAt = (size: SizeHint | null) => {
    const key = size ? String(size.kind === 'disk-gb' ? size.gb : 0) : 'any'
    let hit = bySize.get(key)
    if (!hit) {
      hit = deps.durationModel.estimate(target.name, size).then((e) => e?.medianMs ?? null)
      bySize.set(key, hit)
    }
    return hit
  }
  const running = await Promise.all(
    records.map(async (r) => {
      const planned = r.expected_finish ? Date.parse(r.expected_finish.at) : Number.NaN
      if (Number.isFinite(planned)) return planned
      const size: SizeHint | null =
        r.request.min_disk === undefined ? null : { kind: 'disk-gb', gb: r.request.min_disk }
      const median = await medianAt(size)
      const since = r.submitted_at ? Date.parse(r.submitted_at) : now
      return median === null ? null : (Number.isFinite(since) ? since : now) + median
    }),
  )
  const imports = running.length + queued
  if (imports === 0) return { at: now, complete: true, imports }
  const finish = scheduleQueued(now, running, queued, typical?.medianMs ?? null, target.limits.maxInFlight)
  const known = running.some((r) => r !== null) || (queued > 0 && typical !== null)
  return { at: known ? finish.at : null, complete: finish.complete, imports }
}

/**
 * Registers `ims_importer_backlog_expected_finish_seconds{target}` in `registry`: seconds from
 * the scrape until the target's running and queued imports are expected to end; 0 with no
 * backlog; absent while nothing is known of any of them.
 */
export function bindBacklogEta(registry: Registry, deps: BacklogDeps, options: BacklogOptions = {}) {
  const cacheMs = options.cacheMs ?? 15_000
  const now = options.now ?? Date.now
  const full = { ...deps, durationModel: deps.durationModel ?? createDurationModel(deps.redis, deps.keys) }
  let cached: { at: number; value: Promise<Map<string, BacklogFinish>> } | null = null
  const current = () => {
    const t = now()
    if (cached && t - cached.at < cacheMs) return cached.value
    const value = Promise.all(deps.targets.map((target) => backlogFinish(full, target, t))).then(
      (finishes) => new Map(finishes.map((f, i) => [deps.targets[i]?.name as string, f])),
    )
    // A failed computation is not kept: the next scrape tries again.
    value.catch(() => {
      if (cached?.value === value) cached = null
    })
    cached = { at: t, value }
    return value
  }
  return new Gauge({
    name: 'ims_importer_backlog_expected_finish_seconds',
    help: "Seconds from now until a target's running and queued imports are expected to end (running: the poll planner's expected finish, else submit + the duration model's median; queued: the target's median, list-scheduled on maxInFlight places). A lower bound when some durations are unknown; 0 with no backlog; absent while nothing is known. Recomputed at most every 15 s.",
    labelNames: ['target'],
    registers: [registry],
    async collect() {
      const finishes = await current()
      const t = now()
      this.reset()
      for (const [target, f] of finishes)
        if (f.at !== null) this.set({ target }, Math.max(0, (f.at - t) / 1000))
    },
  })
}
