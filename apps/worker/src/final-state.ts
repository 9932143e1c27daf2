import {
  enqueueCallback,
  type ImportError,
  type ImportPatch,
  type ImportRecord,
  isFinal,
} from '@ims-importer/core'
import type { WorkerDeps } from './deps.js'

/**
 * What follows an import reaching its final state, wherever that happens (submit, poll,
 * reconciler): its in-flight place is released, it is counted, and its callback is queued.
 * Safe to run twice for one import.
 */
export async function afterFinal(deps: WorkerDeps, record: ImportRecord): Promise<void> {
  await deps.inflight.release(record.target, record.id)
  const errorCode = record.error?.code ?? ''
  deps.metrics.finals.inc({ target: record.target, result: record.status, error_code: errorCode })
  const seconds = (Date.parse(record.finished_at ?? record.updated_at) - Date.parse(record.created_at)) / 1000
  if (Number.isFinite(seconds) && seconds >= 0)
    deps.metrics.duration.observe({ target: record.target, result: record.status }, seconds)
  deps.log.info(
    { importId: record.id, target: record.target, status: record.status, errorCode: errorCode || undefined },
    'import final',
  )
  if (record.callback_url) await enqueueCallback(deps.queues, record.id, deps.config.callback)
}

/**
 * For a job that finds its import final already, with its callback pending: a worker that
 * stopped between writing the final state and queueing the callback, or an API that stopped
 * (or could not reach the queue) between cancelling an import and queueing its callback, left
 * no callback job, and the job found here (a stalled one handed to the next worker, or the
 * cancelled import's submit job, which the API removes only once the callback is queued) is the
 * only one that will see the import again. Queued again here; a callback job still waiting or
 * retrying keeps its place (same id).
 */
export async function resumeCallback(deps: WorkerDeps, record: ImportRecord): Promise<void> {
  if (isFinal(record.status) && record.callback_url && record.callback?.status === 'pending')
    await enqueueCallback(deps.queues, record.id, deps.config.callback)
}

/**
 * Moves a non-final import to a final state (unless it already is final) and runs afterFinal.
 * Returns the record as written, or null when it was final already.
 */
export async function finish(
  deps: WorkerDeps,
  importId: string,
  to: 'succeeded' | 'failed',
  patch: ImportPatch,
  reason: string,
): Promise<ImportRecord | null> {
  let changed = false
  const written = await deps.store.update(importId, (current) => {
    changed = !isFinal(current.status)
    return changed ? { to, patch, reason } : null
  })
  if (!written || !changed) return null
  await afterFinal(deps, written)
  return written
}

/** A failure the service decided (not IMS): deadline, throttled too long, retries exhausted. */
export function serviceError(code: string, message: string): ImportError {
  return { source: 'service', code, message }
}
