import {
  createImportStore,
  createRedis,
  type ImportRecord,
  isFinal,
  type Keys,
  type TargetConfig,
} from '@ims-importer/core'
import { testKeys, uniqueName } from '@ims-importer/core/testing'
import {
  type ServiceProcess,
  type SimTarget,
  sleep,
  spawnService,
  writeTargetsFile,
} from '@ims-importer/testkit'

/**
 * Worker settings for chaos runs: short backoffs, a job lock a killed worker's jobs are taken
 * over after (4 s + the 1 s stalled check) and the reconciler every 3 s in every worker (one
 * scheduler, whoever upserts it).
 */
export const CHAOS_WORKER_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  SUBMIT_RETRY_BASE_MS: '500',
  SUBMIT_RETRY_MAX_MS: '4000',
  SUBMIT_LOOKUP_SETTLE_MS: '1000',
  INFLIGHT_WAIT_MS: '150',
  THROTTLE_BACKOFF_MS: '300',
  AUTH_FAILURE_PAUSE_MS: '2000',
  SHUTDOWN_DEADLINE_MS: '5000',
  RECONCILE_ENABLED: 'true',
  RECONCILE_EVERY_MS: '3000',
  JOB_LOCK_DURATION_MS: '4000',
  STALLED_INTERVAL_MS: '1000',
}

export interface StackOptions {
  /** The Redis the API and the workers use. */
  redisUrl: string
  /** The Redis the test reads records through (default redisUrl; differs behind a proxy). */
  observeUrl?: string
  targets: SimTarget[]
  workers: number
  workerEnv?: Record<string, string>
  apiEnv?: Record<string, string>
  /** The stack's Redis namespace (default: a fresh one, so stacks share a Redis unseen by each other). */
  namespace?: Keys
}

/** API + N workers as their own processes over one Redis, and a reader of the import store. */
export interface Stack {
  api: ServiceProcess
  /** Worker processes started so far that are still alive. */
  workers(): ServiceProcess[]
  spawnWorker(): Promise<ServiceProcess>
  /** `Authorization` header of the stack's tenant. */
  auth: { authorization: string }
  tenant: string
  targets: TargetConfig[]
  /** The namespace every process of the stack (and `records`) works in. */
  keys: Keys
  /** Records by id (missing ids are absent), read straight from the store. */
  records(ids: string[]): Promise<Map<string, ImportRecord>>
  /**
   * Waits until every id has a final record, or `timeoutMs`; returns what it read last either
   * way (the test judges it: a missing or non-final record is lost).
   */
  waitFinal(
    ids: string[],
    timeoutMs: number,
    progress?: (counts: Record<string, number>) => string,
  ): Promise<Map<string, ImportRecord>>
  /** The last output of every process started, for failure messages. */
  logs(): string
  close(): Promise<void>
}

const CHUNK = 500

export async function startStack(o: StackOptions): Promise<Stack> {
  const tenant = uniqueName('chaos')
  const ns = o.namespace ?? testKeys('chaos')
  const key = `key-${tenant}`
  const targets = o.targets.map((t) => t.target)
  const targetsFile = writeTargetsFile(targets)
  const observer = createRedis(o.observeUrl ?? o.redisUrl, { connectionName: 'chaos-observer' })
  observer.on('error', () => {})
  const store = createImportStore(observer, { keys: ns })
  const started: ServiceProcess[] = []
  const common = { REDIS_URL: o.redisUrl, IMS_TARGETS_FILE: targetsFile.path }

  const pending = new Set<Promise<unknown>>()
  let closed = false
  const spawnWorker = async () => {
    if (closed) throw new Error('stack closed')
    const starting = spawnService(
      'worker',
      { ...CHAOS_WORKER_ENV, ...o.workerEnv, ...common },
      { namespace: ns },
    )
    pending.add(starting)
    try {
      const w = await starting
      started.push(w)
      if (closed) await w.kill('SIGKILL')
      return w
    } finally {
      pending.delete(starting)
    }
  }
  const close = async () => {
    closed = true
    await Promise.allSettled([...pending])
    await Promise.all(started.map((p) => p.kill('SIGKILL')))
    await observer.quit().catch(() => observer.disconnect())
    targetsFile.remove()
  }

  try {
    const [api] = await Promise.all([
      spawnService(
        'api',
        {
          LOG_LEVEL: 'warn',
          API_KEYS: `${tenant}:${key}`,
          RATE_LIMIT_PER_MINUTE: '10000000',
          ...o.apiEnv,
          ...common,
        },
        { namespace: ns },
      ).then((p) => {
        started.push(p)
        return p
      }),
      ...Array.from({ length: o.workers }, () => spawnWorker()),
    ])
    const records = async (ids: string[]) => {
      const out = new Map<string, ImportRecord>()
      for (let i = 0; i < ids.length; i += CHUNK) {
        const page = await store.getMany(ids.slice(i, i + CHUNK))
        for (const r of page) if (r) out.set(r.id, r)
      }
      return out
    }
    return {
      api: api as ServiceProcess,
      workers: () => started.filter((p) => p.kind === 'worker' && p.alive()),
      spawnWorker,
      auth: { authorization: `Bearer ${key}` },
      tenant,
      targets,
      keys: ns,
      records,
      waitFinal: async (ids, timeoutMs, progress) => {
        const deadline = Date.now() + timeoutMs
        let lastReport = Date.now()
        for (;;) {
          const seen = await records(ids).catch(() => new Map<string, ImportRecord>())
          const done = ids.every((id) => {
            const r = seen.get(id)
            return r !== undefined && isFinal(r.status)
          })
          if (done || Date.now() > deadline) return seen
          if (Date.now() - lastReport > 10_000) {
            lastReport = Date.now()
            const counts: Record<string, number> = {}
            for (const id of ids) {
              const st = seen.get(id)?.status ?? 'missing'
              counts[st] = (counts[st] ?? 0) + 1
            }
            process.stdout.write(`chaos progress: ${JSON.stringify(counts)} ${progress?.(counts) ?? ''}\n`)
          }
          await sleep(250)
        }
      },
      logs: () =>
        started
          .map(
            (p) =>
              `--- ${p.kind} pid ${p.pid} (${p.alive() ? 'alive' : 'exited'})\n${p.output().slice(-4000)}`,
          )
          .join('\n'),
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
