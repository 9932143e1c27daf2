import { buildApp, createApiDeps, loadApiConfig } from '@ims-importer/api'
import { loadWorkerConfig, startWorker } from '@ims-importer/worker'

export interface Stack {
  apiUrl: string
  workerUrl: string
  close(): Promise<void>
}

/**
 * The API and the worker as their main.ts wires them (config parsed from an env object, deps,
 * HTTP listeners), in this process: metrics come from the real /metrics endpoints.
 */
export async function startStack(options: {
  env: Record<string, string>
  apiPort: number
  workerPort: number
  apiEnv?: Record<string, string>
  workerEnv?: Record<string, string>
}): Promise<Stack> {
  const apiConfig = loadApiConfig({
    ...options.env,
    ...options.apiEnv,
    PORT: String(options.apiPort),
    HOST: '127.0.0.1',
  })
  const app = buildApp(createApiDeps(apiConfig))
  const worker = await startWorker(
    loadWorkerConfig({
      ...options.env,
      ...options.workerEnv,
      WORKER_PORT: String(options.workerPort),
      WORKER_HOST: '127.0.0.1',
    }),
  )
  try {
    await app.listen({ port: apiConfig.port, host: apiConfig.host })
  } catch (err) {
    await worker.close()
    throw err
  }
  return {
    apiUrl: `http://127.0.0.1:${options.apiPort}`,
    workerUrl: worker.url,
    close: async () => {
      // Reverse start order.
      await app.close()
      await worker.close()
    },
  }
}
