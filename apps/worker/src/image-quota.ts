import {
  type ImportStore,
  jobIds,
  type Keys,
  type Logger,
  loadLua,
  type Queues,
  type Redis,
  runScript,
  type TargetConfig,
  VersionConflictError,
} from '@ims-importer/core'
import type { ImsClients } from './ims-clients.js'
import type { WorkerMetrics } from './metrics.js'
import { type QuotaPause, type QuotaPolicy, resolveQuotaPolicy, waitingFor } from './quota-pause.js'
import { sleep } from './submit-gate.js'

// A target's private-image quota (IMS answers IMG.0015 once it is used up), shared by every worker
// through Redis: the last read of GET /v1/cloudimages/quota, the imports POSTed whose image that
// read may not count yet, and the pause. Submissions never go beyond the free quota; while none is
// free the target's submissions pause (imports stay queued, their records say why) and resume by
// themselves once a read shows free places. Why, and the counting rule: docs/image-quota.md

const LUA = new URL('./lua/', import.meta.url)
const STATE = loadLua(LUA, 'image-quota-state')
const STORE = loadLua(LUA, 'image-quota-store')
const RESERVE = loadLua(LUA, 'image-quota-reserve')
const REFUSED = loadLua(LUA, 'image-quota-refused')
const POSTED = loadLua(LUA, 'image-quota-posted')

/** A submission waits this long at most for another worker's first read of a target's quota (ms). */
const FIRST_READ_WAIT_MS = 5_000
/** Most queued imports one sweep marks (or unmarks) as waiting for the quota. */
const SWEEP_MAX = 20_000
/** Records read per round trip by a sweep. */
const SWEEP_CHUNK = 200

export type Reservation = { kind: 'reserved' } | { kind: 'exhausted'; pause: QuotaPause }

export interface ImageQuota {
  /**
   * Whether a submission of `importId` may go on, reading the quota first when a read is due.
   * A quota that cannot be read never holds submissions back (IMG.0015 still pauses).
   */
  check(target: string, importId: string): Promise<{ pause: QuotaPause | null }>
  /** Counts the import against the free quota right before its POST, if a place is free. */
  reserve(target: string, importId: string): Promise<Reservation>
  /** Its POST was answered (or may have reached IMS): counted until a read countLagMs later. */
  posted(target: string, importId: string): Promise<void>
  /** Its POST did not go out, or created nothing. */
  release(target: string, importId: string): Promise<void>
  /** IMS answered IMG.0015: the target pauses until a later read shows free quota. */
  refused(target: string, importId: string, message: string): Promise<QuotaPause>
  /** Looks at every target on its cadence: gauges, and a read while paused (so it resumes). */
  start(): void
  close(): Promise<void>
}

export interface ImageQuotaOptions {
  redis: Redis
  keys: Keys
  targets: TargetConfig[]
  ims: ImsClients
  queues: Queues
  store: ImportStore
  metrics: WorkerMetrics
  log: Logger
  /** Longest a POST may take from its reservation to its answer (ms). */
  postMaxMs: number
}

interface State {
  now: number
  quota: number | null
  used: number | null
  pending: number
  mine: boolean
  refused: boolean
  paused: boolean
  pausedSince: number
  read: boolean
  lockTtl: number
  failedAt: number
  refusedMessage: string
}

const known = (n: number) => (n < 0 ? null : n)

export function createImageQuota(o: ImageQuotaOptions): ImageQuota {
  const { redis, keys, metrics, log } = o
  const policies = new Map(o.targets.map((t) => [t.name, resolveQuotaPolicy(t)]))
  const policy = (target: string): QuotaPolicy => {
    const p = policies.get(target)
    if (!p) throw new Error(`no quota policy for target "${target}"`)
    return p
  }
  const keyList = (target: string) => [keys.imageQuota(target), keys.imageQuotaPending(target)]

  const state = async (target: string, importId: string, lock: '0' | '1' | '2'): Promise<State> => {
    const r = (await runScript(
      redis,
      STATE,
      [...keyList(target), keys.imageQuotaRead(target)],
      [policy(target).refreshMs, importId, lock],
    )) as (number | string)[]
    const n = (i: number) => Number(r[i])
    const s: State = {
      now: n(0),
      quota: known(n(1)),
      used: known(n(2)),
      pending: n(4),
      mine: n(5) === 1,
      refused: n(6) === 1,
      paused: n(7) === 1,
      pausedSince: n(8),
      read: n(9) === 1,
      lockTtl: n(10),
      failedAt: n(11),
      refusedMessage: String(r[12] ?? ''),
    }
    report(target, s)
    return s
  }

  const report = (target: string, s: Pick<State, 'paused' | 'quota' | 'used'>) => {
    metrics.submissionsPaused.set({ target, reason: 'image_quota' }, s.paused ? 1 : 0)
    if (s.quota !== null) metrics.imageQuota.set({ target, kind: 'quota' }, s.quota)
    if (s.used !== null) metrics.imageQuota.set({ target, kind: 'used' }, s.used)
  }

  const pauseOf = (target: string, s: State): QuotaPause => ({
    code: s.refused ? 'IMG.0015' : null,
    message: s.refused
      ? `IMS refused a quick import on target ${target} with IMG.0015 (${s.refusedMessage || 'private-image quota reached'}); submissions wait until images are deleted or the quota is raised`
      : `no free private-image quota on target ${target}: ${s.used} of ${s.quota} images used and ${s.pending} accepted imports not counted yet; submissions wait until images are deleted or the quota is raised`,
    since: s.pausedSince >= 0 ? s.pausedSince : s.now,
    retryInMs: s.lockTtl > 0 ? s.lockTtl : policy(target).refreshMs,
  })

  /**
   * Marks (pause) or unmarks (null) the queued imports of the target's submit queue as waiting
   * for the quota; a record changed meanwhile is left alone (its own submission looks again).
   */
  const sweep = async (target: string, pause: QuotaPause | null): Promise<void> => {
    const waiting = pause ? waitingFor(pause) : null
    const prefix = jobIds.submit('')
    const jobs = await o.queues
      .submit(target)
      .getRanges(['waiting', 'prioritized', 'delayed'], 0, SWEEP_MAX - 1, true)
    const ids = jobs.filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length))
    let changed = 0
    for (let i = 0; i < ids.length; i += SWEEP_CHUNK) {
      const records = await o.store.getMany(ids.slice(i, i + SWEEP_CHUNK))
      await Promise.all(
        records.map(async (r) => {
          if (r?.status !== 'queued' || r.target !== target) return
          const mine = r.waiting?.reason === 'image_quota'
          if (waiting ? mine && r.waiting?.code === waiting.code : !mine) return
          try {
            await o.store.transition(r.id, 'queued', { waiting }, { expectedVersion: r.version })
            changed++
          } catch (err) {
            if (!(err instanceof VersionConflictError)) throw err
          }
        }),
      )
    }
    if (changed > 0)
      log.info({ target, imports: changed, paused: pause !== null }, 'image quota: queued imports updated')
  }

  /** Reads the quota from IMS (the caller holds the read lock) and stores it. */
  const readNow = async (target: string, readAt: number): Promise<void> => {
    let q: { used: number; quota: number }
    try {
      q = await o.ims.get(target).getImageQuota()
    } catch (err) {
      await redis.hset(keys.imageQuota(target), 'failedAt', readAt)
      log.warn(
        { target, reason: err instanceof Error ? err.message : String(err) },
        'image quota: read failed; submissions go on with the last known quota',
      )
      return
    }
    const r = (await runScript(redis, STORE, keyList(target), [readAt, q.quota, q.used])) as number[]
    if (r[0] !== 1) return
    report(target, { paused: r[1] === 1, quota: q.quota, used: q.used })
    if (r[2] === 1) {
      log.info({ target, used: q.used, quota: q.quota }, 'image quota: free again; submissions resume')
      // The paused jobs come back now, not when the queue's pause would have ended.
      await o.queues.submit(target).removeRateLimitKey()
      await sweep(target, null)
    } else if (r[1] === 1) {
      // Imports queued since the last look are marked too.
      await sweep(target, pauseOf(target, await state(target, '', '0')))
    }
  }

  /** The state, after a read if one is due and this caller got the lock. */
  const look = async (target: string, importId: string, lock: '1' | '2'): Promise<State> => {
    const s = await state(target, importId, lock)
    if (!s.read) return s
    await readNow(target, s.now)
    return state(target, importId, '0')
  }

  /** A pause that began with this call (pausedSince = its own now): mark the queue once. */
  const onPause = async (target: string, pause: QuotaPause, now: number) => {
    if (pause.since !== now) return
    log.warn({ target, code: pause.code }, 'image quota: submissions paused')
    await sweep(target, pause)
  }

  let timer: NodeJS.Timeout | undefined
  let ticking: Promise<void> | undefined
  const tick = async () => {
    for (const t of o.targets) {
      try {
        await look(t.name, '', '2')
      } catch (err) {
        log.warn({ err, target: t.name }, 'image quota: look failed')
      }
    }
  }

  return {
    async check(target, importId) {
      let s = await look(target, importId, '1')
      // The first read of the target runs elsewhere: nothing is POSTed on an unknown quota.
      const until = Date.now() + FIRST_READ_WAIT_MS
      while (s.quota === null && s.failedAt < 0 && s.lockTtl > 0 && Date.now() < until) {
        await sleep(50)
        s = await look(target, importId, '1')
      }
      if (!s.paused || (s.mine && !s.refused)) return { pause: null }
      const pause = pauseOf(target, s)
      await onPause(target, pause, s.now)
      return { pause }
    },
    async reserve(target, importId) {
      const [ok, now] = (await runScript(redis, RESERVE, keyList(target), [
        importId,
        o.postMaxMs,
      ])) as number[]
      if (ok === 1) return { kind: 'reserved' }
      const pause = pauseOf(target, await state(target, importId, '0'))
      await onPause(target, pause, now as number)
      return { kind: 'exhausted', pause }
    },
    async posted(target, importId) {
      await runScript(redis, POSTED, [keys.imageQuotaPending(target)], [importId, policy(target).countLagMs])
    },
    async release(target, importId) {
      await redis.zrem(keys.imageQuotaPending(target), importId)
    },
    async refused(target, importId, message) {
      const [now] = (await runScript(redis, REFUSED, keyList(target), [importId, message])) as number[]
      const pause = pauseOf(target, await state(target, importId, '0'))
      await onPause(target, pause, now as number)
      return pause
    },
    start() {
      if (timer || o.targets.length === 0) return
      const every = Math.max(100, Math.min(...[...policies.values()].map((p) => p.refreshMs)))
      timer = setInterval(() => {
        ticking ??= tick().finally(() => {
          ticking = undefined
        })
      }, every)
      timer.unref()
    },
    async close() {
      if (timer) clearInterval(timer)
      timer = undefined
      await ticking
    },
  }
}
