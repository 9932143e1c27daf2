import type { ProblemDetails } from './types.js'

/** An HTTP answer outside 2xx. The message is built from the problem's title and detail only. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemDetails,
    readonly method: string,
    readonly path: string,
    /** From Retry-After on 429/503, in milliseconds; null when absent. */
    readonly retryAfterMs: number | null,
  ) {
    super(problemMessage(problem))
    this.name = 'ApiError'
  }
}

/** The request never got an HTTP answer (connection refused, reset, timeout). */
export class ApiNetworkError extends Error {
  constructor(
    /** The socket error code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, ...) or 'unknown'. */
    readonly code: string,
    readonly method: string,
    readonly path: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiNetworkError'
  }
}

/** The answer was 2xx but its body is not what the API promises. */
export class ApiResponseError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiResponseError'
  }
}

function problemMessage(problem: ProblemDetails): string {
  const head = `${problem.title} (${problem.status})`
  const detail = problem.detail && problem.detail !== problem.title ? `: ${problem.detail}` : ''
  const fields = (problem.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.path || '(body)'}: ${e.message}${e.ims_code ? ` [${e.ims_code}]` : ''}`)
  const more = (problem.errors?.length ?? 0) > 5 ? `; and ${(problem.errors?.length ?? 0) - 5} more` : ''
  return `${head}${detail}${fields.length ? ` - ${fields.join('; ')}${more}` : ''}`
}

/**
 * Whether a failed call may be sent again unchanged. Only meaningful for requests that are safe
 * to repeat (GETs and POSTs carrying an Idempotency-Key): 429, 5xx, network errors, and 409,
 * which the API answers while the first request with the same key is still being handled.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ApiNetworkError) return true
  if (err instanceof ApiError) return err.status === 429 || err.status === 409 || err.status >= 500
  return false
}
