import {
  BaseEnv,
  CallbackRetryEnv,
  envBoolean,
  loadTargets,
  loadTenants,
  parseEnv,
  type TargetsEnv,
  type TenantPolicy,
} from '@ims-importer/core'
import { z } from 'zod'
import { parseAdminKeys } from './metrics-auth.js'

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback)
const count = (fallback: number) => z.coerce.number().int().positive().default(fallback)

/** The worker's env, parsed once in main.ts. Secrets (the tenants' callback secrets) never reach logs. */
export const WorkerEnv = BaseEnv.extend(CallbackRetryEnv.shape).extend({
  WORKER_PORT: z.coerce.number().int().min(0).max(65535).default(9091),
  /**
   * Address the health server (/metrics, /livez, /readyz) binds: loopback unless configured
   * (a container sets 0.0.0.0 for Prometheus, on its private network).
   */
  WORKER_HOST: z.string().min(1).default('127.0.0.1'),
  /** Require an admin key (ADMIN_API_KEYS, as the API reads them) on the worker's /metrics. */
  METRICS_AUTH: envBoolean.default(false),
  /** `name:key` or `name:sha256:<64 hex>`, comma-separated: the keys that may read /metrics. */
  ADMIN_API_KEYS: z.string().optional(),
  /** Days final imports, their index entries and batches are kept (fractions allowed; docs/retention.md). */
  RETENTION_DAYS: z.coerce.number().positive().default(30),
  /** Run the reconciler (its Worker and job scheduler) in this process. */
  RECONCILE_ENABLED: envBoolean.default(true),
  /**
   * The tenant policy the API reads too (packages/core/src/tenants.ts): each tenant's callback
   * secrets (Standard Webhooks) and what it may use, checked again before each submission.
   * Unset: API_KEYS tenants, who may use everything and have no callback secret (their callbacks
   * fail with that reason). CALLBACK_SECRET of earlier releases is no longer read.
   */
  TENANTS_FILE: z.string().min(1).optional(),
  /** How often the tenants file is read again for changes (ms; 0: only on SIGHUP). */
  TENANTS_RELOAD_MS: z.coerce.number().int().min(0).default(10_000),
  CALLBACK_ALLOW_PRIVATE: envBoolean.default(false),
  CALLBACK_ALLOW_HTTP_LOOPBACK: envBoolean.default(false),
  CALLBACK_TIMEOUT_MS: ms(10_000),
  /** How long active jobs may run on after SIGTERM before the worker gives up on them. */
  SHUTDOWN_DEADLINE_MS: ms(25_000),
  SUBMIT_CONCURRENCY: count(10),
  POLL_CONCURRENCY: count(20),
  CALLBACK_CONCURRENCY: count(10),
  /** Longest an import may keep being throttled (429, IMG.0060, IMG.0194) before it fails. */
  SUBMIT_MAX_THROTTLED_MS: ms(6 * 3600_000),
  /**
   * POSTs that may have reached IMS (transient or uncertain outcome) before an import may fail;
   * it fails once it has made these and SUBMIT_RETRY_WINDOW_MS has passed since the first of
   * them failed (an IMS outage shorter than the window fails nothing).
   */
  SUBMIT_MAX_ATTEMPTS: count(6),
  SUBMIT_RETRY_WINDOW_MS: ms(30 * 60_000),
  /** Base of the exponential backoff for transient and uncertain submit outcomes. */
  SUBMIT_RETRY_BASE_MS: ms(2_000),
  /**
   * After a POST with no definite answer (or a crash around it), the image is looked up by its
   * marker tag before any new POST. Not finding it is taken as "nothing was created" only this
   * long after that POST: IMS may not list the image of a job it accepted while the job is still
   * initialising (INIT), and a POST in that time would create a second image.
   */
  SUBMIT_LOOKUP_SETTLE_MS: z.coerce.number().int().min(0).default(60_000),
  SUBMIT_RETRY_MAX_MS: ms(120_000),
  /**
   * How long a full in-flight cap pauses the target's submit queue before the next look. Only
   * when no submission can wait for a place in process (SUBMIT_CONCURRENCY - 1 wait per target
   * and worker, each up to 30 s); a waiting one takes a freed place within milliseconds.
   */
  INFLIGHT_WAIT_MS: ms(1_000),
  /** After an authentication failure the target's submit queue pauses this long (AK/SK lockout). */
  AUTH_FAILURE_PAUSE_MS: ms(60_000),
  /** Backoff when IMS throttles without Retry-After. */
  THROTTLE_BACKOFF_MS: ms(5_000),
  /** Consecutive failed polls (not throttled) after which an import fails. */
  POLL_MAX_CONSECUTIVE_FAILURES: count(10),
  /**
   * Extra ms on every submit window, fixed. Default: adaptive, max(50 ms, 5% of the window) to
   * max(100 ms, 10%), from the gate's recent Redis round trips (submit-gate.ts, marginBounds).
   */
  SUBMIT_GATE_MARGIN_MS: z.coerce.number().int().min(0).optional(),
  RECONCILE_EVERY_MS: ms(60_000),
  /** A poll this late (beyond its schedule) is reported as overdue by the reconciler. */
  POLL_OVERDUE_MS: ms(15 * 60_000),
  /** BullMQ job lock; a killed worker's jobs are taken over after about this long. */
  JOB_LOCK_DURATION_MS: ms(30_000),
  STALLED_INTERVAL_MS: ms(30_000),
})
export type WorkerEnv = z.infer<typeof WorkerEnv>

/**
 * The worker's settings: the env (other variables kept, for the targets and their `env:NAME`
 * secrets) shaped into the config the code reads. Its output type is WorkerConfig.
 */
export const WorkerSettings = WorkerEnv.loose().transform((e) => {
  const targets = loadTargets(e as TargetsEnv)
  const tenants = e.TENANTS_FILE
    ? loadTenants(e.TENANTS_FILE, {
        env: e as Record<string, string | undefined>,
        targets: targets.map((t) => t.name),
      })
    : null
  return {
    redisUrl: e.REDIS_URL,
    /** The namespace of every key, queue and channel (createKeys). */
    keyPrefix: e.REDIS_KEY_PREFIX,
    logLevel: e.LOG_LEVEL,
    port: e.WORKER_PORT,
    host: e.WORKER_HOST,
    /** Hashes of the keys that may read /metrics (METRICS_AUTH), else null: /metrics is open. */
    metricsKeys: e.METRICS_AUTH ? parseAdminKeys(e.ADMIN_API_KEYS) : null,
    /** How long a final import is kept (ms; RETENTION_DAYS). */
    retentionMs: Math.round(e.RETENTION_DAYS * 86_400_000),
    reconcilerEnabled: e.RECONCILE_ENABLED,
    targets,
    /**
     * Each tenant's policy (TENANTS_FILE); null without one: every tenant may use everything and
     * has no callback secret.
     */
    tenantPolicies: (tenants?.policies ?? null) as ReadonlyMap<string, TenantPolicy> | null,
    /** TENANTS_FILE, followed while the worker runs (tenants-reload.ts, from main.ts), or null. */
    tenantsFile: e.TENANTS_FILE ?? null,
    /** Digest of the tenants file's content the policies above were read from (watchTenantsFile). */
    tenantsDigest: tenants?.digest ?? null,
    tenantsReloadMs: e.TENANTS_RELOAD_MS,
    callback: {
      allowPrivate: e.CALLBACK_ALLOW_PRIVATE,
      allowHttpLoopback: e.CALLBACK_ALLOW_HTTP_LOOPBACK,
      timeoutMs: e.CALLBACK_TIMEOUT_MS,
      attempts: e.CALLBACK_ATTEMPTS,
      retryBaseMs: e.CALLBACK_RETRY_BASE_MS,
    },
    shutdownDeadlineMs: e.SHUTDOWN_DEADLINE_MS,
    concurrency: { submit: e.SUBMIT_CONCURRENCY, poll: e.POLL_CONCURRENCY, callback: e.CALLBACK_CONCURRENCY },
    submit: {
      maxThrottledMs: e.SUBMIT_MAX_THROTTLED_MS,
      maxAttempts: e.SUBMIT_MAX_ATTEMPTS,
      retryWindowMs: e.SUBMIT_RETRY_WINDOW_MS,
      retryBaseMs: e.SUBMIT_RETRY_BASE_MS,
      retryMaxMs: e.SUBMIT_RETRY_MAX_MS,
      lookupSettleMs: e.SUBMIT_LOOKUP_SETTLE_MS,
      inflightWaitMs: e.INFLIGHT_WAIT_MS,
      authFailurePauseMs: e.AUTH_FAILURE_PAUSE_MS,
      throttleBackoffMs: e.THROTTLE_BACKOFF_MS,
      gateMarginMs: e.SUBMIT_GATE_MARGIN_MS,
    },
    poll: { maxConsecutiveFailures: e.POLL_MAX_CONSECUTIVE_FAILURES, overdueMs: e.POLL_OVERDUE_MS },
    reconcileEveryMs: e.RECONCILE_EVERY_MS,
    lockDurationMs: e.JOB_LOCK_DURATION_MS,
    stalledIntervalMs: e.STALLED_INTERVAL_MS,
  }
})
export type WorkerConfig = z.output<typeof WorkerSettings>

/** Parses the worker's env (and the targets it names) into its config; main.ts only. */
export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  return parseEnv(WorkerSettings, env)
}

/** Every key optional, at any depth; arrays and other non-plain values are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype

/** `base` with `overrides` merged in, plain objects key by key at every depth. */
export function deepMerge<T>(base: T, overrides: NoInfer<DeepPartial<T>> | undefined): T {
  if (!isPlainObject(base) || !isPlainObject(overrides))
    return (overrides === undefined ? base : overrides) as T
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(overrides))
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v
  return out as T
}

/**
 * What an env with only REDIS_URL gives (no other env read), `overrides` deep-merged on top:
 * `{ submit: { retryBaseMs: 100 } }` changes that one setting.
 */
export function defaultWorkerConfig(
  overrides: DeepPartial<WorkerConfig> & Pick<WorkerConfig, 'redisUrl' | 'targets'>,
): WorkerConfig {
  return deepMerge(loadWorkerConfig({ REDIS_URL: overrides.redisUrl }), overrides)
}
