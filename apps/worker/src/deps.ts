import type {
  DurationModel,
  ImportStore,
  Logger,
  Queues,
  Redis,
  TargetConfig,
  TenantPolicy,
} from '@ims-importer/core'
import type { WorkerConfig } from './config.js'
import type { ImageQuota } from './image-quota.js'
import type { ImsClients } from './ims-clients.js'
import type { Inflight } from './inflight.js'
import type { WorkerMetrics } from './metrics.js'
import type { PollGate } from './poll-gate.js'
import type { PreflightReader } from './preflight-obs.js'
import type { SubmitGate } from './submit-gate.js'

/** Everything a processor needs, passed explicitly. */
export interface WorkerDeps {
  config: WorkerConfig
  log: Logger
  /** The worker's shared connection (the store's and the queues'). */
  redis: Redis
  store: ImportStore
  queues: Queues
  ims: ImsClients
  gate: SubmitGate
  inflight: Inflight
  metrics: WorkerMetrics
  /** The targets' job-status GET budgets (poll-gate.ts). */
  pollGate: PollGate
  /** How long imports take per target and size, learnt from finished ones (core duration-model). */
  durationModel: DurationModel
  /** Whether imports wait for a place on a target (cached briefly; poll-gate.ts). */
  placeDemand: (target: string) => Promise<boolean>
  /** The targets' private-image quotas (image-quota.ts). */
  imageQuota: ImageQuota
  /** The pre-flight's OBS reads per target (preflight-obs.ts; docs/preflight.md). */
  preflight: PreflightReader
  targets: ReadonlyMap<string, TargetConfig>
  /**
   * Each tenant's policy (null: no tenants file, every tenant may use everything): the config's at
   * start, replaced when the tenants file changes (tenants-reload.ts: TENANTS_RELOAD_MS, SIGHUP).
   * Read where it is used, never kept.
   */
  tenants: { current: ReadonlyMap<string, TenantPolicy> | null }
}
