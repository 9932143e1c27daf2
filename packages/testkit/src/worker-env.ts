/** Fast settings for a worker process under test, as env: short backoffs and pauses, no reconciler. */
export const FAST_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  SUBMIT_RETRY_BASE_MS: '100',
  SUBMIT_RETRY_MAX_MS: '1000',
  SUBMIT_LOOKUP_SETTLE_MS: '200',
  INFLIGHT_WAIT_MS: '150',
  THROTTLE_BACKOFF_MS: '300',
  AUTH_FAILURE_PAUSE_MS: '2000',
  SHUTDOWN_DEADLINE_MS: '5000',
  RECONCILE_ENABLED: 'false',
}
