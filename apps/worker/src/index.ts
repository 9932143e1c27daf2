import type { FastifyInstance } from 'fastify'
import type { WorkerConfig } from './config.js'
import { buildHealthServer } from './health-server.js'
import { createWorkerRuntime, type RuntimeOptions, type WorkerRuntime } from './runtime.js'

export { defaultWorkerConfig, loadWorkerConfig, type WorkerConfig, WorkerEnv } from './config.js'
export { pollDelayMs } from './poll-schedule.js'
export { callbackBody, webhookHeaders, webhookId } from './processors/callback.js'
export type { ReconcileReport } from './processors/reconcile.js'
export { createWorkerRuntime, type RuntimeOptions, type WorkerRuntime } from './runtime.js'
export { marginBounds } from './submit-gate.js'

export interface StartedWorker {
  runtime: WorkerRuntime
  server: FastifyInstance
  /** http://host:port of /metrics, /livez, /readyz */
  url: string
  close(): Promise<void>
}

/** A whole worker process: the runtime plus its health server, listening on config.port. */
export async function startWorker(
  config: WorkerConfig,
  options: RuntimeOptions = {},
): Promise<StartedWorker> {
  const runtime = await createWorkerRuntime(config, options)
  const server = buildHealthServer({
    registry: runtime.deps.metrics.registry,
    ready: runtime.ready,
    metricsKeys: config.metricsKeys,
  })
  const url = await server.listen({ port: config.port, host: config.host })
  let closing: Promise<void> | undefined
  return {
    runtime,
    server,
    url,
    close: () => {
      // Reverse start order: stop answering, then drain the workers and their connections.
      closing ??= server.close().then(() => runtime.close())
      return closing
    },
  }
}
