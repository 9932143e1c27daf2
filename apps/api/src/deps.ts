import {
  type Admission,
  createAdmission,
  createImportStore,
  createKeys,
  createLogger,
  createQueues,
  createRedis,
  type ImportStore,
  type Keys,
  type Logger,
  type Queues,
  type Redis,
} from '@ims-importer/core'
import { type AuthKeys, createAuthenticator, type Principal } from './auth.js'
import { type BatchStore, createBatchStore } from './batch-store.js'
import type { ApiConfig } from './config.js'
import { type ApiMetrics, createApiMetrics } from './metrics.js'

/**
 * Everything the app and its routes use, built by createApiDeps (main.ts, tests). The app closes
 * redis, queueRedis and queues in onClose.
 */
export interface ApiDeps {
  config: ApiConfig
  log: Logger
  /** A fail-fast client (no offline queue): request paths answer 503 at once when Redis is away. */
  redis: Redis
  /** The fail-fast connection `queues` run on (its own: see createApiDeps). */
  queueRedis: Redis
  /** The namespace of every key and queue (REDIS_KEY_PREFIX). */
  keys: Keys
  store: ImportStore
  /** Rate limits, Idempotency-Keys and new records in one step (intake.ts). */
  admission: Admission
  batches: BatchStore
  queues: Queues
  metrics: ApiMetrics
  /** Configured target names; the first is the default. */
  targets: string[]
  /**
   * The keys and policies requests are judged by: the config's at start, replaced when the
   * tenants file changes (tenants-reload.ts). Read per request, never kept.
   */
  tenants: { current: AuthKeys }
  /**
   * Matches a presented key against `tenants.current` as of the call (tenant keys, or admin keys
   * when `admin`): its principal, or null. One for the app's onRequest hook and the queue board.
   */
  authenticate: (token: string, admin: boolean) => Principal | null
}

/**
 * Builds the API's resources from its config, all in the config's namespace: two fail-fast Redis
 * connections (no offline queue, so a request gets 503 at once when Redis is away; they reconnect
 * by themselves), one for the store, admission and batches, one for BullMQ's queues; metrics in
 * their own registry.
 */
export function createApiDeps(config: ApiConfig, options: { log?: Logger } = {}): ApiDeps {
  const log = options.log ?? createLogger({ name: 'api', level: config.logLevel })
  const keys = createKeys(config.keyPrefix)
  // Commands that requests issue in the same event-loop turn go out in one write: measured under
  // the intake benchmark's load, Redis CPU per request fell by about a third.
  const redis = createRedis(config.redisUrl, {
    failFast: true,
    connectionName: 'ims-importer-api',
    autoPipelining: true,
  })
  // The queues get their own plain connection: ioredis copies BullMQ's ~50 defined scripts onto
  // every pipeline of an auto-pipelined one (docs/intake-admission.md). A record is still written
  // before its submit job: the route awaits the record before it adds the job.
  const queueRedis = createRedis(config.redisUrl, {
    failFast: true,
    connectionName: 'ims-importer-api-queues',
  })
  // One line per outage, not one per reconnect attempt.
  let down = false
  redis.on('error', (err) => {
    if (down) return
    down = true
    log.warn({ error: err.message }, 'redis connection lost')
  })
  redis.on('ready', () => {
    if (!down) return
    down = false
    log.info('redis connection restored')
  })
  queueRedis.on('error', () => {}) // the store connection's lines tell of an outage
  // A reload replaces its `current` (tenants-reload.ts); a copy of these deps ({ ...deps }) shares
  // this object, so `authenticate` sees the reload either way.
  const tenants: ApiDeps['tenants'] = {
    current: {
      apiKeys: config.apiKeys,
      adminKeys: config.adminKeys,
      tenantPolicies: config.tenantPolicies,
    },
  }
  return {
    config,
    log,
    redis,
    queueRedis,
    keys,
    // A listing filtered beyond its index (batch_id or external_id with more filters) reads at most
    // this many entries per request; past them the page comes back short, with a cursor.
    store: createImportStore(redis, { keys, listScanBudget: 1000, retentionMs: config.retentionMs }),
    admission: createAdmission(redis, { keys }),
    batches: createBatchStore(redis, keys),
    queues: createQueues(queueRedis, keys),
    metrics: createApiMetrics(),
    targets: config.targets,
    tenants,
    authenticate: createAuthenticator(() => tenants.current),
  }
}
