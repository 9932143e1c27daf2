import {
  BaseEnv,
  CallbackRetryEnv,
  type Cloud,
  envBoolean,
  loadTargets,
  loadTenants,
  parseEnv,
  type TargetsEnv,
  type Tenants,
} from '@ims-importer/core'
import { z } from 'zod'
import { parseApiKeys } from './auth.js'

/**
 * The development key used when API_KEYS is not set outside production: tenant `dev`, key
 * `dev-key` (documented in apps/api/README.md and printed by `pnpm start`). Production refuses
 * to start without API_KEYS.
 */
export const DEV_API_KEYS = 'dev:dev-key'

/** The API's environment variables. */
export const ApiEnv = BaseEnv.extend({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * The tenant policy (JSON or YAML; packages/core/src/tenants.ts): each tenant's keys, targets,
   * buckets, rate limit, quota of imports not yet final and callback secrets. Replaces API_KEYS.
   */
  TENANTS_FILE: z.string().min(1).optional(),
  /** How often the tenants file is read again for changes (ms; 0: only on SIGHUP). */
  TENANTS_RELOAD_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * The simple form, for development: comma-separated `tenant:key` pairs (a key may be
   * `sha256:<64 hex>`); such a tenant may use every target and bucket and has no callback secret.
   */
  API_KEYS: z.string().optional(),
  /** Same format; operator keys, the only keys that may read /metrics when METRICS_AUTH is on. */
  ADMIN_API_KEYS: z.string().optional(),
  /** Require an admin key on /metrics. Off by default: Prometheus scrapes it on a private network. */
  METRICS_AUTH: envBoolean.default(false),
  /** Let admin keys retry and clean jobs in the queue UI (/admin/queues); read-only when off. */
  ADMIN_QUEUES_WRITE: envBoolean.default(false),
  /**
   * Require a key on /docs and /openapi.json, like every other route (the default). Turn it off
   * to browse Swagger UI, which cannot send a bearer key for its own page; `pnpm start` does.
   */
  DOCS_AUTH: envBoolean.default(true),
  /** Requests per minute per API key (any route that needs a key), with bursts up to this many. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /** Largest request body in bytes (single imports and everything else). */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  /** Largest body of POST /v1/batches in bytes (up to 1000 items). */
  BATCH_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  CALLBACK_ALLOW_PRIVATE: envBoolean.default(false),
  CALLBACK_ALLOW_HTTP_LOOPBACK: envBoolean.default(false),
  /** CALLBACK_ATTEMPTS, CALLBACK_RETRY_BASE_MS: a cancel queues its callback; the worker's values. */
  ...CallbackRetryEnv.shape,
  /** How long SIGTERM waits for in-flight requests before closing anyway (ms). */
  SHUTDOWN_DEADLINE_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * Longest a client may take to send a whole request, headers and body (ms): a slow body is
   * answered 408 and closed then. 4 MB batches need about 30 s at 1 Mbit/s.
   */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /** Longest a client may take to send a request's headers (ms); at most REQUEST_TIMEOUT_MS. */
  HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** A connection with no traffic at all this long is closed (ms). */
  CONNECTION_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  /** An idle keep-alive connection is closed after this long (ms); above a load balancer's idle timeout. */
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(72_000),
  /** Failed authentications per client address and window before every request from it gets 429. */
  AUTH_FAILURE_LIMIT: z.coerce.number().int().positive().default(20),
  AUTH_FAILURE_WINDOW_MS: z.coerce.number().int().positive().default(60_000),
  /** Days final imports, their index entries and batches are kept (fractions allowed; docs/retention.md). */
  RETENTION_DAYS: z.coerce.number().positive().default(30),
})
export type ApiEnv = z.infer<typeof ApiEnv>

/** The configured IMS targets as the API uses them (read once). */
function targetsOf(env: TargetsEnv) {
  const targets = loadTargets(env)
  return {
    /** Names of the configured IMS targets; the first is the default. */
    targets: targets.map((t) => t.name),
    /**
     * Each target's in-flight cap (limits.maxInFlight): the places a batch's expected finish is
     * scheduled on. A target missing here has the default cap.
     */
    places: Object.fromEntries(targets.map((t) => [t.name, t.limits.maxInFlight])) as Record<string, number>,
    /**
     * Each target's cloud: the quick-import body of an import is judged by its target's cloud
     * (HWC takes license_type). A target missing here is OTC, the targets file's default.
     */
    clouds: Object.fromEntries(targets.map((t) => [t.name, t.cloud])) as Record<string, Cloud>,
  }
}

/**
 * The API's configuration: its environment, checked across fields and shaped for the code.
 * The IMS target variables are read by core's loadTargets, so the object keeps unknown keys
 * for it. Errors name the variable, never a key.
 */
export const ApiConfig = ApiEnv.loose()
  .superRefine((e, ctx) => {
    if (e.NODE_ENV === 'production' && !e.API_KEYS && !e.TENANTS_FILE)
      ctx.addIssue({
        code: 'custom',
        path: ['API_KEYS'],
        message: 'required in production (or TENANTS_FILE)',
      })
    if (e.API_KEYS && e.TENANTS_FILE)
      ctx.addIssue({
        code: 'custom',
        path: ['API_KEYS'],
        message: 'set TENANTS_FILE or API_KEYS, not both (the tenants file lists every key)',
      })
    if (e.METRICS_AUTH && !e.ADMIN_API_KEYS && !e.TENANTS_FILE)
      ctx.addIssue({ code: 'custom', path: ['ADMIN_API_KEYS'], message: 'required when METRICS_AUTH is on' })
  })
  .transform((e) => {
    const targets = targetsOf(e as TargetsEnv)
    const tenants: Tenants | null = e.TENANTS_FILE
      ? loadTenants(e.TENANTS_FILE, {
          env: e as Record<string, string | undefined>,
          targets: targets.targets,
        })
      : null
    const envAdminKeys = e.ADMIN_API_KEYS ? parseApiKeys(e.ADMIN_API_KEYS, 'ADMIN_API_KEYS') : []
    return {
      port: e.PORT,
      host: e.HOST,
      redisUrl: e.REDIS_URL,
      /** The namespace of every key and queue (REDIS_KEY_PREFIX). */
      keyPrefix: e.REDIS_KEY_PREFIX,
      logLevel: e.LOG_LEVEL as string,
      /** Tenant keys, hashed: the tenants file's, else API_KEYS (or the development key). */
      apiKeys: tenants ? tenants.apiKeys : parseApiKeys(e.API_KEYS ?? DEV_API_KEYS, 'API_KEYS'),
      /** Operator keys: ADMIN_API_KEYS and the tenants file's `admins`. */
      adminKeys: [...envAdminKeys, ...(tenants?.adminKeys ?? [])],
      /** ADMIN_API_KEYS alone: a reload of the tenants file keeps them beside the file's admins. */
      envAdminKeys,
      /** TENANTS_FILE, followed while the API runs (tenants-reload.ts), or null. */
      tenantsFile: e.TENANTS_FILE ?? null,
      /** Digest of the tenants file's content the keys above were read from (watchTenantsFile). */
      tenantsDigest: tenants?.digest ?? null,
      tenantsReloadMs: e.TENANTS_RELOAD_MS,
      /** Each tenant's policy from TENANTS_FILE; null: API_KEYS tenants, every target and bucket. */
      tenantPolicies: tenants?.policies ?? null,
      /** True when neither API_KEYS nor TENANTS_FILE was set and the development key is in use. */
      usingDevKey: !e.API_KEYS && !e.TENANTS_FILE,
      metricsAuth: e.METRICS_AUTH,
      /** The queue UI may retry and clean jobs (otherwise it only shows them). */
      adminQueuesWrite: e.ADMIN_QUEUES_WRITE,
      docsAuth: e.DOCS_AUTH,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      batchBodyLimitBytes: e.BATCH_BODY_LIMIT_BYTES,
      callbackPolicy: {
        allowPrivate: e.CALLBACK_ALLOW_PRIVATE,
        allowHttpLoopback: e.CALLBACK_ALLOW_HTTP_LOOPBACK,
      },
      /** Retries of the callback a cancel queues (core's CallbackRetryEnv, read by the worker too). */
      callbackRetry: { attempts: e.CALLBACK_ATTEMPTS, retryBaseMs: e.CALLBACK_RETRY_BASE_MS },
      shutdownDeadlineMs: e.SHUTDOWN_DEADLINE_MS,
      /** The HTTP server's timeouts (ms). */
      http: {
        requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
        headersTimeoutMs: Math.min(e.HEADERS_TIMEOUT_MS, e.REQUEST_TIMEOUT_MS),
        connectionTimeoutMs: e.CONNECTION_TIMEOUT_MS,
        keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      },
      /** Failed-auth throttling per client address (auth-throttle.ts). */
      authThrottle: { maxFailures: e.AUTH_FAILURE_LIMIT, windowMs: e.AUTH_FAILURE_WINDOW_MS },
      /** How long a final import is kept (ms; RETENTION_DAYS). */
      retentionMs: Math.round(e.RETENTION_DAYS * 86_400_000),
      ...targets,
    }
  })
export type ApiConfig = z.output<typeof ApiConfig>

/** Parses the API's env once (main.ts). */
export function loadApiConfig(env: Record<string, string | undefined>): ApiConfig {
  return parseEnv(ApiConfig, env)
}

/** Overrides of a config: any part of it, nested objects merged field by field. */
export type ApiConfigOverrides = {
  [K in keyof ApiConfig]?: ApiConfig[K] extends unknown[]
    ? ApiConfig[K]
    : ApiConfig[K] extends object
      ? Partial<ApiConfig[K]>
      : ApiConfig[K]
}

/**
 * The configuration an empty environment gives (development key, the simulator target) with
 * `overrides` merged on top (nested objects field by field): for tests and embedding, so a new
 * setting needs no edit in each caller.
 */
export function defaultApiConfig(overrides: ApiConfigOverrides & Pick<ApiConfig, 'redisUrl'>): ApiConfig {
  const base = loadApiConfig({ REDIS_URL: overrides.redisUrl })
  const merged: Record<string, unknown> = { ...base }
  for (const [name, value] of Object.entries(overrides)) {
    const current = merged[name]
    merged[name] = isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value
  }
  return merged as ApiConfig
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
