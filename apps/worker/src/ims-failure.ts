import { isImsError, normalizeErrorCode } from '@ims-importer/ims-client'

/**
 * The one place that classifies an IMS failure for the worker. Each processor maps each class
 * to one queue outcome:
 *   throttled -> rate-limit the target's queue (RateLimitError), no attempt burnt
 *   transient -> delay with exponential backoff and jitter (DelayedError), bounded
 *   uncertain -> like transient, but the next submit looks the image up by marker first
 *   permanent -> the import fails with the IMS code and message
 *   auth      -> the import fails; the target's submit queue pauses (AK/SK lockout after 5 failures)
 */
export type FailureClass = 'throttled' | 'transient' | 'uncertain' | 'permanent' | 'auth'

export interface ImsFailure {
  kind: FailureClass
  code: string | null
  status: number | null
  message: string
  retryAfterMs: number | null
}

/**
 * Answers that say our POSTs came too fast (the gateway's 429, IMS's flow control), as
 * normalizeErrorCode gives them (APIGW.0308 -> APIG.0308): they widen the submit gate's margin.
 */
export const RATE_THROTTLE_CODES: ReadonlySet<string> = new Set(['APIG.0308', 'IMG.0060'])

/**
 * Flow-control answers that mean "wait and retry", whatever their HTTP status: the rate throttles
 * and IMG.0194 (too many imports at once, a limit on concurrency rather than rate).
 */
const HOLD_CODES = new Set([...RATE_THROTTLE_CODES, 'IMG.0194'])

export function classifyImsFailure(
  err: unknown,
  operation: 'quickImport' | 'getJob' | 'listImages',
): ImsFailure {
  if (isImsError(err)) {
    const kind: FailureClass =
      err.code && HOLD_CODES.has(normalizeErrorCode(err.code)) ? 'throttled' : err.kind
    return { kind, code: err.code, status: err.status, message: err.message, retryAfterMs: err.retryAfterMs }
  }
  // Not from the client (a bug, an abort): for the POST nobody knows whether it left, so it is
  // uncertain; for reads it is transient.
  const message = err instanceof Error ? err.message : String(err)
  return {
    kind: operation === 'quickImport' ? 'uncertain' : 'transient',
    code: null,
    status: null,
    message,
    retryAfterMs: null,
  }
}

/** Exponential backoff with full jitter in [base*2^(n-1) / 2, base*2^(n-1)], capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}
