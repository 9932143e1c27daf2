import type { ImportStore, Logger, Queues, TargetConfig } from '@ims-importer/core'
import type { WorkerConfig } from './config.js'
import type { ImageQuota } from './image-quota.js'
import type { ImsClients } from './ims-clients.js'
import type { Inflight } from './inflight.js'
import type { WorkerMetrics } from './metrics.js'
import type { SubmitGate } from './submit-gate.js'

/** Everything a processor needs, passed explicitly. */
export interface WorkerDeps {
  config: WorkerConfig
  log: Logger
  store: ImportStore
  queues: Queues
  ims: ImsClients
  gate: SubmitGate
  inflight: Inflight
  metrics: WorkerMetrics
  /** The targets' private-image quotas (image-quota.ts). */
  imageQuota: ImageQuota
  targets: ReadonlyMap<string, TargetConfig>
}
