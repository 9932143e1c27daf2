import type { TargetConfig } from '@ims-importer/core'
import { createImsClient, type ImsClient } from '@ims-importer/ims-client'
import type { WorkerMetrics } from './metrics.js'

export interface ImsClients {
  /** The client of one target; throws for a target that is not configured. */
  get(target: string): ImsClient
  close(): Promise<void>
}

/** One IMS client per target (its own token cache and connection pool), reporting to metrics. */
export function createImsClients(targets: TargetConfig[], metrics: WorkerMetrics): ImsClients {
  const clients = new Map<string, ImsClient>()
  for (const t of targets) {
    clients.set(
      t.name,
      createImsClient({
        imsEndpoint: t.imsEndpoint,
        iamEndpoint: t.iamEndpoint,
        projectId: t.projectId,
        auth: t.auth,
        onResponse: (info) => metrics.observeImsResponse(t.name, info),
      }),
    )
  }
  return {
    get: (target) => {
      const c = clients.get(target)
      if (!c) throw new Error(`no IMS client for target "${target}"`)
      return c
    },
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()))
    },
  }
}
