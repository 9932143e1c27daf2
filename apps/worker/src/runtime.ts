import {
  createDurationModel,
  createImportStore,
  createKeys,
  createLogger,
  createQueues,
  createRedis,
  type HostLookup,
  type Logger,
  queueNames,
} from '@ims-importer/core'
import { Queue, type Worker } from 'bullmq'
import { bindBacklogEta } from './backlog-eta.js'
import type { WorkerConfig } from './config.js'
import type { WorkerDeps } from './deps.js'
import { createImageQuota } from './image-quota.js'
import { createImsClients } from './ims-clients.js'
import { createInflight } from './inflight.js'
import { createWorkerMetrics } from './metrics.js'
import { createPlaceDemand, createPollGate } from './poll-gate.js'
import { createPreflightReader } from './preflight-obs.js'
import { processReconcile, type ReconcileReport } from './processors/reconcile.js'
import { createSubmitGate, sleep } from './submit-gate.js'
import { startOutboxDrainer } from './submit-outbox.js'
import { createWorkers, RECONCILE_SCHEDULER_ID } from './workers.js'

/** /readyz answers within about this, Redis or not (ms). */
const READY_PING_MS = 500

export interface RuntimeOptions {
  log?: Logger
  /** Run the reconciler's Worker and upsert its job scheduler (default: config.reconcilerEnabled). */
  reconciler?: boolean
  /** DNS resolution for the callback SSRF check; tests pass their own. */
  callbackLookup?: HostLookup
  /** Node's default process metrics (default true). */
  defaultMetrics?: boolean
  /** Move the submit outbox onto the submit queues in this process (default true; tests turn it off). */
  outboxDrainer?: boolean
}

export interface WorkerRuntime {
  deps: WorkerDeps
  workers: Worker[]
  /** One reconciler pass now (the scheduler runs it every RECONCILE_EVERY_MS). */
  reconcileOnce(): Promise<ReconcileReport>
  /** Redis answers and every worker runs. */
  ready(): Promise<boolean>
  /** Stops taking jobs, lets active ones finish within SHUTDOWN_DEADLINE_MS, closes in reverse order. */
  close(): Promise<void>
}

/** Builds every resource of a worker process and starts its BullMQ workers (no HTTP server). */
export async function createWorkerRuntime(
  config: WorkerConfig,
  options: RuntimeOptions = {},
): Promise<WorkerRuntime> {
  const log = options.log ?? createLogger({ name: 'worker', level: config.logLevel })
  const redis = createRedis(config.redisUrl, { connectionName: 'ims-worker' })
  redis.on('error', (err) => log.error({ err }, 'redis error'))
  const keys = createKeys(config.keyPrefix)
  const store = createImportStore(redis, { keys, retentionMs: config.retentionMs })
  const queues = createQueues(redis, keys)
  const metrics = createWorkerMetrics({ defaultMetrics: options.defaultMetrics ?? true })
  const gate = createSubmitGate(redis, keys, { marginMs: config.submit.gateMarginMs })
  // The IMS clients tell the gate when each POST starts and ends (its stamp is the answer's
  // time) and when IMS throttles one (the margin widens): docs/submit-gate.md.
  const ims = createImsClients(config.targets, metrics, gate)
  const inflight = createInflight(redis, keys)
  const imageQuota = createImageQuota({
    redis,
    keys,
    targets: config.targets,
    ims,
    queues,
    store,
    metrics,
    log,
    // From a reservation to its POST's answer: the job's lock, then the IMS client's 30 s timeout.
    postMaxMs: config.lockDurationMs + 60_000,
  })
  const deps: WorkerDeps = {
    config,
    log,
    redis,
    store,
    queues,
    ims,
    gate,
    inflight,
    metrics,
    pollGate: createPollGate(redis, keys),
    durationModel: createDurationModel(redis, keys),
    placeDemand: createPlaceDemand({
      queues,
      inflight,
      caps: new Map(config.targets.map((t) => [t.name, t.limits.maxInFlight])),
    }),
    imageQuota,
    preflight: createPreflightReader(config.targets, log),
    targets: new Map(config.targets.map((t) => [t.name, t])),
    tenants: { current: config.tenantPolicies },
  }
  metrics.bindCollectors({ inflight, queues, targets: config.targets, redis })
  bindBacklogEta(metrics.registry, { redis, keys, queues, inflight, targets: config.targets })
  // Fetch each target's token now, so that the first POSTs admitted by the gate do not wait
  // for IAM after their admission (the gate's margin covers only a small delay).
  await Promise.race([
    Promise.all(
      config.targets.map((t) =>
        ims
          .get(t.name)
          .listImages({ limit: 1 })
          .catch(() => undefined),
      ),
    ),
    sleep(5000),
  ])

  const reconciler = options.reconciler ?? config.reconcilerEnabled
  let reconcileQueue: Queue | undefined
  if (reconciler) {
    reconcileQueue = new Queue(queueNames.reconcile, { connection: redis, prefix: keys.bullPrefix })
    reconcileQueue.on('error', (err) => log.error({ err }, 'reconcile queue error'))
    await reconcileQueue.upsertJobScheduler(
      RECONCILE_SCHEDULER_ID,
      { every: config.reconcileEveryMs },
      { name: 'reconcile', data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    )
  }
  const workers = createWorkers(deps, {
    connection: redis,
    reconciler,
    ...(options.callbackLookup ? { callback: { lookup: options.callbackLookup } } : {}),
  })
  await Promise.all(workers.map((w) => w.waitUntilReady()))
  imageQuota.start()
  // Admitted imports reach their submit queues through the outbox (docs/intake-admission.md).
  const outbox = options.outboxDrainer === false ? null : startOutboxDrainer({ redis, queues, log })
  log.info(
    { targets: config.targets.map((t) => t.name), queues: workers.map((w) => w.name) },
    'worker started',
  )

  let closing: Promise<void> | undefined
  const close = async () => {
    const drained = Promise.all(workers.map((w) => w.close())).then(() => true)
    const inTime = await Promise.race([drained, sleep(config.shutdownDeadlineMs).then(() => false)])
    if (!inTime) {
      // Jobs still running are left to the stalled-job checker of another worker.
      log.warn(
        { deadlineMs: config.shutdownDeadlineMs },
        'shutdown deadline passed; closing workers by force',
      )
      await Promise.all(workers.map((w) => w.close(true)))
    }
    await imageQuota.close()
    await outbox?.close()
    await reconcileQueue?.close()
    await queues.close()
    await ims.close()
    await deps.preflight.close()
    await redis.quit().catch(() => redis.disconnect())
    log.info('worker stopped')
  }

  return {
    deps,
    workers,
    reconcileOnce: () => processReconcile(deps)(),
    ready: async () => {
      try {
        // A deadline: with Redis unreachable the PING waits in the offline queue until it is back.
        const pong = await Promise.race([redis.ping(), sleep(READY_PING_MS).then(() => 'timeout')])
        return pong === 'PONG' && workers.every((w) => w.isRunning())
      } catch {
        return false
      }
    },
    close: () => {
      closing ??= close()
      return closing
    },
  }
}
