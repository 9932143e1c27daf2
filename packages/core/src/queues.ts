import { type JobsOptions, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { CallbackJob, type PollJob, SubmitJob } from './jobs.js'
import { keys as defaultKeys, jobIds, type Keys, queueNames } from './keys.js'

/**
 * Submit jobs never use BullMQ's own retry counter for IMS outcomes: the processor decides
 * (rate limit, delay, fail). `attempts` only covers a processor crashing outright.
 * Completed jobs are removed so the same job id can never block a later enqueue, failed ones
 * are kept a week for the queue UI.
 */
export const SUBMIT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
}

export const POLL_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
}

/** Attempts and backoff come from the config (CallbackRetry, see enqueueCallback). */
export const CALLBACK_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
}

export interface Queues {
  /** The namespace the queues live in (its bullPrefix is their BullMQ prefix). */
  keys: Keys
  submit(target: string): Queue<SubmitJob>
  poll(target: string): Queue<PollJob>
  callback(): Queue<CallbackJob>
  /** Every queue opened so far. */
  all(): Queue[]
  close(): Promise<void>
}

/**
 * Queues are opened lazily, one per name, all on the shared connection and the namespace's
 * hash-tagged BullMQ prefix (`keys.bullPrefix`).
 */
export function createQueues(connection: Redis, keys: Keys = defaultKeys): Queues {
  const open = new Map<string, Queue>()
  const get = <T>(name: string): Queue<T> => {
    let q = open.get(name)
    if (!q) {
      q = new Queue(name, { connection, prefix: keys.bullPrefix })
      q.on('error', () => {}) // connection errors surface through the callers' awaits and /readyz
      open.set(name, q)
    }
    return q as Queue<T>
  }
  return {
    keys,
    submit: (target) => get<SubmitJob>(queueNames.submit(target)),
    poll: (target) => get<PollJob>(queueNames.poll(target)),
    callback: () => get<CallbackJob>(queueNames.callback),
    all: () => [...open.values()],
    close: async () => {
      await Promise.all([...open.values()].map((q) => q.close()))
      open.clear()
    },
  }
}

/** Adds the one submit job of an import (job id = submit-<importId>, so a second add is a no-op). */
export async function enqueueSubmit(queues: Queues, target: string, importId: string): Promise<void> {
  const data = SubmitJob.parse({ importId })
  await queues.submit(target).add('submit', data, { ...SUBMIT_JOB_OPTIONS, jobId: jobIds.submit(importId) })
}

/** Adds many submit jobs in one round trip (a batch). */
export async function enqueueSubmitBulk(
  queues: Queues,
  items: { target: string; importId: string }[],
): Promise<void> {
  const byTarget = new Map<string, string[]>()
  for (const { target, importId } of items) {
    const ids = byTarget.get(target)
    if (ids) ids.push(importId)
    else byTarget.set(target, [importId])
  }
  await Promise.all(
    [...byTarget].map(([target, ids]) =>
      queues.submit(target).addBulk(
        ids.map((importId) => ({
          name: 'submit',
          data: SubmitJob.parse({ importId }),
          opts: { ...SUBMIT_JOB_OPTIONS, jobId: jobIds.submit(importId) },
        })),
      ),
    ),
  )
}

/** How a callback is retried (CALLBACK_ATTEMPTS, CALLBACK_RETRY_BASE_MS; see CallbackRetryEnv). */
export interface CallbackRetry {
  attempts: number
  retryBaseMs: number
}

/**
 * Adds the one callback job of an import that reached a final state (job id = callback-<importId>:
 * a callback job still waiting or retrying keeps its place when it is added again).
 */
export async function enqueueCallback(queues: Queues, importId: string, retry: CallbackRetry): Promise<void> {
  await queues.callback().add('callback', CallbackJob.parse({ importId }), {
    ...CALLBACK_JOB_OPTIONS,
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.retryBaseMs },
    jobId: jobIds.callback(importId),
  })
}
