import {
  type ApiConfigOverrides,
  buildApp,
  createApiDeps,
  defaultApiConfig,
  parseApiKeys,
} from '@ims-importer/api'
import { createRedis, type TargetConfig } from '@ims-importer/core'
import { testKeys } from '@ims-importer/core/testing'
import {
  FAST_ENV,
  type ServiceProcess,
  type SimTarget,
  type SimTargetOptions,
  spawnSimTarget,
  spawnWorker,
  startSimTarget,
  writeTargetsFile,
} from '@ims-importer/testkit'
import type { Redis } from 'ioredis'
import { afterAll, inject } from 'vitest'
import type { DeepPartial, WorkerConfig } from '../../src/config.js'
import { createWorkerRuntime, type WorkerRuntime } from '../../src/index.js'
import type { RuntimeOptions } from '../../src/runtime.js'
import { createIntake, type Intake, silentLog, testConfig } from './harness.js'

export type SpawnedSimTarget = Awaited<ReturnType<typeof spawnSimTarget>>

/** A simulator target, the API's side on it and worker runtimes, in the file's namespace. */
export interface SimRuntime {
  t: SimTarget
  intake: Intake
  /** The first of `runtimes`. */
  runtime: WorkerRuntime
  runtimes: WorkerRuntime[]
}

/**
 * One test file's fixtures: its own namespace (keys, queues and channels no other test file
 * sees) and the things its tests start there. Everything started is closed, last started first,
 * by `cleanup` (afterAll unless the file passes afterEach).
 */
export function workerTestFile(name: string, cleanup: (fn: () => Promise<void>) => void = afterAll) {
  const ns = testKeys(name)
  const redisUrl = inject('redisUrl')
  let closers: Array<() => Promise<unknown> | unknown> = []
  cleanup(async () => {
    const closing = closers.reverse()
    closers = []
    for (const close of closing) await close()
  })
  const closeLater = <T>(thing: T, close: (thing: T) => Promise<unknown> | unknown): T => {
    closers.push(() => close(thing))
    return thing
  }

  /** A Redis client on the test Redis. */
  const redis = (): Redis => closeLater(createRedis(redisUrl), (c) => c.quit().catch(() => undefined))
  /** The API's side: a store and the queues. */
  const intake = (): Intake => closeLater(createIntake(redisUrl, ns), (i) => i.close())
  /** A simulator in this process, configured as a target. */
  const simTarget = async (label: string, o: SimTargetOptions = {}): Promise<SimTarget> =>
    closeLater(await startSimTarget(label, o), (t) => t.sim.close())
  /** A simulator as its own process, configured as a target. */
  const spawnedSimTarget = async (
    label: string,
    o: Parameters<typeof spawnSimTarget>[1] = {},
  ): Promise<SpawnedSimTarget> => closeLater(await spawnSimTarget(label, o), (t) => t.sim.close())
  /** A worker runtime in this process on `targets`, with the fast test settings and `config`. */
  const runtime = async (
    targets: TargetConfig[],
    config: DeepPartial<WorkerConfig> = {},
    options: RuntimeOptions = {},
  ) =>
    closeLater(
      await createWorkerRuntime(testConfig(redisUrl, ns, targets, config), {
        log: silentLog(),
        defaultMetrics: false,
        ...options,
      }),
      (r) => r.close(),
    )

  return {
    ns,
    redisUrl,
    redis,
    intake,
    simTarget,
    spawnedSimTarget,
    runtime,
    /** A simulator target, the intake and `workers` runtimes on it. */
    async simRuntime(
      label: string,
      o: SimTargetOptions = {},
      config: DeepPartial<WorkerConfig> = {},
      workers = 1,
    ): Promise<SimRuntime> {
      const t = await simTarget(label, o)
      const i = intake()
      const runtimes: WorkerRuntime[] = []
      for (let n = 0; n < workers; n++) runtimes.push(await runtime([t.target], config))
      return { t, intake: i, runtime: runtimes[0] as WorkerRuntime, runtimes }
    },
    /**
     * A worker process on `targets` (written to a targets file), with the fast settings and
     * `env`; stopped at cleanup (SIGTERM, then SIGKILL) unless it has exited by then.
     */
    async spawnWorker(targets: TargetConfig[], env: Record<string, string> = {}): Promise<ServiceProcess> {
      const file = closeLater(writeTargetsFile(targets), (f) => f.remove())
      return closeLater(
        await spawnWorker(
          { ...FAST_ENV, REDIS_URL: redisUrl, IMS_TARGETS_FILE: file.path, ...env },
          { namespace: ns },
        ),
        (w) => w.stop(),
      )
    },
    /**
     * The intake API in this process, as deployed, on the file's Redis and namespace: `apiKeys` in
     * API_KEYS form ('tenant-a:key-a'), then `config`. Ready for `inject`; closed at cleanup.
     */
    async api(apiKeys: string, config: ApiConfigOverrides = {}) {
      const app = closeLater(
        buildApp(
          createApiDeps(
            defaultApiConfig({
              redisUrl,
              keyPrefix: ns.prefix,
              logLevel: 'silent',
              apiKeys: parseApiKeys(apiKeys, 'API_KEYS'),
              usingDevKey: false,
              ...config,
            }),
            { log: silentLog() },
          ),
        ),
        (a) => a.close(),
      )
      await app.ready()
      return app
    },
    /** Closes `thing` at cleanup; returns it. */
    closeLater,
  }
}
