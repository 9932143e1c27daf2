import { type Logger, queueNames, type Redis } from '@ims-importer/core'
import { type Processor, Worker, type WorkerOptions } from 'bullmq'
import type { WorkerDeps } from './deps.js'
import { createPlaceWaiter } from './place-waiter.js'
import { type CallbackProcessorOptions, processCallback } from './processors/callback.js'
import { processPoll } from './processors/poll.js'
import { processReconcile } from './processors/reconcile.js'
import { processSubmit } from './processors/submit.js'

/** The reconciler's scheduler id (one scheduler however many workers upsert it). */
export const RECONCILE_SCHEDULER_ID = 'reconcile-every'

/**
 * BullMQ only honours `queue.rateLimit()` on a worker that has a limiter. The submit worker's
 * limiter is set far above any real rate: the exact limit is the sliding-window gate, and this
 * limiter exists only so that throttling and a full cap can pause the whole target's queue.
 */
const SUBMIT_LIMITER = { max: 1_000_000, duration: 1000 }

/** A submission waiting for an in-flight place looks again this often without an announcement (ms). */
const PLACE_RECHECK_MS = 250

export interface WorkersOptions {
  connection: Redis
  reconciler: boolean
  callback?: CallbackProcessorOptions
}

function watch(worker: Worker, log: Logger): Worker {
  worker.on('error', (err) => log.error({ err, queue: worker.name }, 'worker error'))
  worker.on('failed', (job, err) =>
    log.warn(
      { queue: worker.name, jobId: job?.id, attemptsMade: job?.attemptsMade, reason: err.message },
      'job failed',
    ),
  )
  worker.on('stalled', (jobId) => log.warn({ queue: worker.name, jobId }, 'job stalled'))
  return worker
}

/** One Worker per queue: submit and poll per target, callbacks, and the reconciler. */
export function createWorkers(deps: WorkerDeps, options: WorkersOptions): Worker[] {
  const base: WorkerOptions = {
    connection: options.connection,
    prefix: deps.queues.keys.bullPrefix,
    lockDuration: deps.config.lockDurationMs,
    stalledInterval: deps.config.stalledIntervalMs,
    // A job whose worker died is taken over; the processors are built to be re-run.
    maxStalledCount: 5,
  }
  const make = (name: string, processor: Processor, opts: Partial<WorkerOptions>) =>
    watch(new Worker(name, processor, { ...base, ...opts }), deps.log)

  const targets = [...deps.targets.values()]
  // Submissions wait in process for a freed place; one slot of the submit concurrency is kept
  // for fetching, so the jobs of imports holding a place (awaiting resubmission) still run.
  const maxWaiters = deps.config.concurrency.submit - 1
  const places =
    targets.length > 0 && maxWaiters > 0
      ? createPlaceWaiter({
          inflight: deps.inflight,
          targets: targets.map((t) => t.name),
          // Its own connection: one in subscriber mode takes no other command (a Cluster's duplicate() too).
          subscriber: options.connection.duplicate(),
          maxWaiters,
          recheckMs: PLACE_RECHECK_MS,
          log: deps.log,
        })
      : undefined

  const workers: Worker[] = []
  for (const t of targets) {
    const submit = make(queueNames.submit(t.name), processSubmit(deps, { places }), {
      concurrency: deps.config.concurrency.submit,
      limiter: SUBMIT_LIMITER,
    })
    // Closing ends the waits at once (their jobs go back to the queue) so that close() drains quickly.
    if (places)
      submit.once('closing', () => {
        places.close().catch((err) => deps.log.warn({ err }, 'place waiter close failed'))
      })
    workers.push(
      submit,
      make(queueNames.poll(t.name), processPoll(deps), {
        concurrency: deps.config.concurrency.poll,
        // The exact GET budget is the poll gate (poll-gate.ts, a sliding window shared by all
        // workers). This limiter is a backstop at twice the rate (a poll the gate defers takes a
        // token without a GET), and lets a throttled poll pause the target's queue (rateLimit).
        limiter: { max: t.limits.pollRate * 2, duration: 1000 },
      }),
    )
  }
  workers.push(
    make(queueNames.callback, processCallback(deps, options.callback), {
      concurrency: deps.config.concurrency.callback,
    }),
  )
  if (options.reconciler) workers.push(make(queueNames.reconcile, processReconcile(deps), { concurrency: 1 }))
  return workers
}
