import { createImportStore, createLogger, createQueues, createRedis, type Logger } from '@ims-importer/core'
import type { ApiDeps } from './app.js'
import type { ApiConfig } from './config.js'
import { createApiMetrics } from './metrics.js'

/**
 * Builds the API's resources from its config: two fail-fast Redis connections (no offline queue,
 * so a request gets 503 at once when Redis is away; they reconnect by themselves), one for the
 * import store, rate limits and idempotency, one for BullMQ's queues; metrics in their own
 * registry. buildApp closes them in onClose.
 */
export function createApiDeps(config: ApiConfig, options: { log?: Logger } = {}): ApiDeps {
  const log = options.log ?? createLogger({ name: 'api', level: config.logLevel })
  // Commands that requests issue in the same event-loop turn go out in one write: measured under
  // the intake benchmark's load, Redis CPU per request fell by about a third. Order on the
  // connection is kept.
  const redis = createRedis(config.redisUrl, {
    failFast: true,
    connectionName: 'ims-importer-api',
    autoPipelining: true,
  })
  // BullMQ defines its ~50 Lua scripts as commands on the connection it is given, and ioredis
  // copies every defined command onto each pipeline it builds: on the auto-pipelined connection
  // that was measured at about 10 µs of API CPU per request. The queues get their own connection,
  // plain like the intake benchmark's baseline. A record is still written before its submit job:
  // the route awaits the record before it adds the job.
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
  return {
    config,
    log,
    redis,
    queueRedis,
    store: createImportStore(redis),
    queues: createQueues(queueRedis),
    metrics: createApiMetrics(),
    targets: config.targets,
  }
}
