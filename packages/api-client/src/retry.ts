import { ApiError, isRetryable } from './errors.js'

export interface RetryPolicy {
  /** Attempts after the first; 0 turns retrying off. */
  retries: number
  /** First backoff delay in ms, doubled per attempt with full jitter. */
  baseDelayMs: number
  /** Upper bound of one delay in ms (also caps a server's Retry-After). */
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelayMs: 250, maxDelayMs: 30_000 }

export interface RetryEvent {
  attempt: number
  delayMs: number
  error: unknown
}

/** Parses Retry-After (delta seconds or an HTTP date) into ms; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

/** The wait before retry number `attempt` (1-based): Retry-After when the server sent one, else backoff. */
export function retryDelayMs(
  err: unknown,
  attempt: number,
  policy: RetryPolicy,
  random = Math.random,
): number {
  if (err instanceof ApiError && err.retryAfterMs !== null)
    return Math.min(err.retryAfterMs, policy.maxDelayMs)
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  // Full jitter, with a floor of half the ceiling so retries never hammer the server.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `fn` and repeats it on retryable errors; the last error is thrown when attempts run out. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  options: { onRetry?: (event: RetryEvent) => void; sleep?: (ms: number) => Promise<void> } = {},
): Promise<T> {
  const wait = options.sleep ?? sleep
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt > policy.retries || !isRetryable(error)) throw error
      const delayMs = retryDelayMs(error, attempt, policy)
      options.onRetry?.({ attempt, delayMs, error })
      await wait(delayMs)
    }
  }
}
