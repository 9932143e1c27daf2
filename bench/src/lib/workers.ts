import { join } from 'node:path'
import { freePort } from '@ims-importer/core/testing'
import type { BenchContext } from './context.js'
import { type Child, childEnv, spawnTs, waitForHttp } from './processes.js'

export interface WorkerProcessOptions {
  name: string
  redisUrl: string
  targetsFile: string
  /** Extra worker env (INFLIGHT_WAIT_MS ...). */
  env?: Record<string, string>
  logLevel?: string
  keepStdout?: boolean
  nodeFlags?: string[]
}

/** Starts apps/worker/src/main.ts as its own process and waits for its /readyz. */
export async function startWorkerProcess(ctx: BenchContext, o: WorkerProcessOptions): Promise<Child> {
  const port = await freePort()
  const child = spawnTs({
    name: o.name,
    entry: join(ctx.root, 'apps/worker/src/main.ts'),
    cwd: join(ctx.root, 'apps/worker'),
    keepStdout: o.keepStdout ?? false,
    nodeFlags: o.nodeFlags ?? [],
    env: childEnv(ctx, {
      REDIS_URL: o.redisUrl,
      IMS_TARGETS_FILE: o.targetsFile,
      WORKER_PORT: String(port),
      WORKER_HOST: '127.0.0.1',
      LOG_LEVEL: o.logLevel ?? 'warn',
      ...o.env,
    }),
  })
  await waitForHttp(`http://127.0.0.1:${port}/readyz`, child)
  return child
}
