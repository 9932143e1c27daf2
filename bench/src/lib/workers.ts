import type { TargetConfig } from '@ims-importer/core'
import { spawnWorker, type TsProcess, writeTargetsFile } from '@ims-importer/testkit'
import { type BenchContext, childEnv } from './context.js'

export interface WorkerProcessOptions {
  name: string
  redisUrl: string
  /** Written to a targets file of its own, removed when the worker exits. */
  targets: TargetConfig[]
  /** Extra worker env (INFLIGHT_WAIT_MS ...). */
  env?: Record<string, string>
  logLevel?: string
  keepStdout?: boolean
}

/** A worker process (testkit's spawnWorker) with the bench's environment; ready when this resolves. */
export async function startWorkerProcess(ctx: BenchContext, o: WorkerProcessOptions): Promise<TsProcess> {
  const file = writeTargetsFile(o.targets)
  try {
    const worker = await spawnWorker(
      childEnv(ctx, {
        REDIS_URL: o.redisUrl,
        IMS_TARGETS_FILE: file.path,
        LOG_LEVEL: o.logLevel ?? 'warn',
        ...o.env,
      }),
      { name: o.name, keepStdout: o.keepStdout ?? false, from: 'source' },
    )
    void worker.exited.then(() => file.remove())
    return worker
  } catch (err) {
    file.remove()
    throw err
  }
}
