import { z } from 'zod'
import { DEFAULT_KEY_PREFIX, KEY_PREFIX_PATTERN } from './keys.js'
import { isClusterUrl, parseClusterUrl } from './redis.js'

/** Environment booleans as people write them; `z.coerce.boolean()` would take "false" as true. */
export const envBoolean = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v
  const s = v.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(s)) return true
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false
  ctx.addIssue({ code: 'custom', message: `expected a boolean (true/false/1/0/yes/no), got "${v}"` })
  return z.NEVER
})

export const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

/** One server (`redis://`, `rediss://`) or a cluster (`redis+cluster://host:port,host:port`, see createRedis). */
const RedisUrl = z.string().refine(
  (v) => {
    if (!isClusterUrl(v)) return URL.canParse(v)
    try {
      parseClusterUrl(v)
      return true
    } catch {
      return false
    }
  },
  { message: 'Invalid URL (expected redis://host:port or redis+cluster://host:port,host:port)' },
)

/** Settings every process shares. Each app extends this and parses its env once, in main.ts. */
export const BaseEnv = z.object({
  REDIS_URL: RedisUrl.default('redis://127.0.0.1:6379'),
  /**
   * The namespace of every key and queue (a Redis Cluster hash tag). Data already in Redis is
   * under `{ims}`: change it only for a second, separate service on the same Redis (or tests).
   */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(KEY_PREFIX_PATTERN, 'a Redis hash tag like {ims} (1 to 64 of A-Z a-z 0-9 _ . : -)')
    .default(DEFAULT_KEY_PREFIX),
  LOG_LEVEL: LogLevel.default('info'),
})
export type BaseEnv = z.infer<typeof BaseEnv>

/**
 * Callback delivery retries: attempts and the first backoff (doubling); 9 from 10 s is about 85
 * minutes in all. Read by every process that queues callbacks: the worker (succeeded, failed)
 * and the API (cancelled), so both must be given the same values.
 */
export const CallbackRetryEnv = z.object({
  CALLBACK_ATTEMPTS: z.coerce.number().int().positive().default(9),
  CALLBACK_RETRY_BASE_MS: z.coerce.number().int().positive().default(10_000),
})

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Parses env with a schema; the error lists every bad variable by name, never its value. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  const result = schema.safeParse(env)
  if (result.success) return result.data
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`)
}
