import {
  BaseEnv,
  type CallbackRetry,
  CallbackRetryEnv,
  ConfigError,
  envBoolean,
  loadTargets,
  parseEnv,
  type TargetsEnv,
} from '@ims-importer/core'
import { z } from 'zod'
import { type ApiKeyEntry, parseApiKeys } from './auth.js'

/**
 * The development key used when API_KEYS is not set outside production: tenant `dev`, key
 * `dev-key` (documented in apps/api/README.md and printed by `pnpm start`). Production refuses
 * to start without API_KEYS.
 */
export const DEV_API_KEYS = 'dev:dev-key'

export const ApiEnv = BaseEnv.extend({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Comma-separated `tenant:key` pairs; a key may be `sha256:<64 hex>` so no plaintext is stored. */
  API_KEYS: z.string().optional(),
  /** Same format; operator keys, the only keys that may read /metrics when METRICS_AUTH is on. */
  ADMIN_API_KEYS: z.string().optional(),
  /** Require an admin key on /metrics. Off by default: Prometheus scrapes it on a private network. */
  METRICS_AUTH: envBoolean.default(false),
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
})
export type ApiEnv = z.infer<typeof ApiEnv>

export interface ApiConfig {
  port: number
  host: string
  redisUrl: string
  logLevel: string
  /** Tenant keys, hashed. */
  apiKeys: ApiKeyEntry[]
  adminKeys: ApiKeyEntry[]
  /** True when API_KEYS was not set and the development key is in use. */
  usingDevKey: boolean
  metricsAuth: boolean
  docsAuth: boolean
  rateLimitPerMinute: number
  bodyLimitBytes: number
  batchBodyLimitBytes: number
  callbackPolicy: { allowPrivate: boolean; allowHttpLoopback: boolean }
  /** Retries of the callback a cancel queues (the worker's CALLBACK_ATTEMPTS, CALLBACK_RETRY_BASE_MS). */
  callbackRetry: CallbackRetry
  shutdownDeadlineMs: number
  /** Names of the configured IMS targets; the first is the default. */
  targets: string[]
}

/** Parses the API's env once (main.ts); errors name the variable, never a key. */
export function loadApiConfig(env: Record<string, string | undefined>): ApiConfig {
  const e = parseEnv(ApiEnv, env)
  const production = e.NODE_ENV === 'production'
  if (production && !e.API_KEYS)
    throw new ConfigError('invalid configuration:\n  API_KEYS: required in production')
  if (e.METRICS_AUTH && !e.ADMIN_API_KEYS)
    throw new ConfigError('invalid configuration:\n  ADMIN_API_KEYS: required when METRICS_AUTH is on')
  const usingDevKey = !e.API_KEYS
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    logLevel: e.LOG_LEVEL,
    apiKeys: parseApiKeys(e.API_KEYS ?? DEV_API_KEYS, 'API_KEYS'),
    adminKeys: e.ADMIN_API_KEYS ? parseApiKeys(e.ADMIN_API_KEYS, 'ADMIN_API_KEYS') : [],
    usingDevKey,
    metricsAuth: e.METRICS_AUTH,
    docsAuth: e.DOCS_AUTH,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    batchBodyLimitBytes: e.BATCH_BODY_LIMIT_BYTES,
    callbackPolicy: {
      allowPrivate: e.CALLBACK_ALLOW_PRIVATE,
      allowHttpLoopback: e.CALLBACK_ALLOW_HTTP_LOOPBACK,
    },
    callbackRetry: { attempts: e.CALLBACK_ATTEMPTS, retryBaseMs: e.CALLBACK_RETRY_BASE_MS },
    shutdownDeadlineMs: e.SHUTDOWN_DEADLINE_MS,
    targets: loadTargets(env as TargetsEnv).map((t) => t.name),
  }
}

/**
 * The configuration an empty environment gives (development key, the simulator target) with
 * `overrides` on top: for tests and embedding, so a new setting needs no edit in each caller.
 */
export function defaultApiConfig(overrides: Partial<ApiConfig> & Pick<ApiConfig, 'redisUrl'>): ApiConfig {
  return { ...loadApiConfig({ REDIS_URL: overrides.redisUrl }), ...overrides }
}
