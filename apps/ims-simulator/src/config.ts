import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { OPERATIONS, type SimulatorOptions } from './options.js'
import { ObsSeedBody } from './routes/control.js'

const int = z.coerce.number().int().min(0)
const rate = z.coerce.number().min(0).max(1)
/** `limit/windowMs`, e.g. `10/1000`. */
const rateLimit = z
  .string()
  .regex(/^\d+\/\d+$/, 'expected limit/windowMs, e.g. 10/1000')
  .transform((v) => {
    const [limit, windowMs] = v.split('/').map(Number) as [number, number]
    return { limit, windowMs }
  })
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

/** The simulator's environment, parsed once by main.ts. Every variable is optional. */
const SimulatorEnv = z
  .object({
    SIM_PORT: int.max(65535).default(4600),
    SIM_HOST: z.string().min(1).default('127.0.0.1'),
    SIM_PROJECT_ID: z.string().min(1).optional(),
    SIM_PROJECT_NAME: z.string().min(1).optional(),
    SIM_USER_NAME: z.string().min(1).optional(),
    SIM_USER_PASSWORD: z.string().min(1).optional(),
    SIM_USER_DOMAIN: z.string().min(1).optional(),
    SIM_AK: z.string().min(1).optional(),
    SIM_SK: z.string().min(1).optional(),
    SIM_TOKEN_TTL_MS: int.optional(),
    SIM_INIT_MS: int.optional(),
    SIM_LISTING_DELAY_MS: int.optional(),
    SIM_JOB_MIN_MS: int.optional(),
    SIM_JOB_MAX_MS: int.optional(),
    SIM_IMAGE_QUOTA: int.optional(),
    SIM_EXISTING_IMAGES: int.optional(),
    SIM_MAX_CONCURRENT_IMPORTS: int.optional(),
    SIM_RATE_QUICK_IMPORT: rateLimit.optional(),
    SIM_RATE_GET_JOB: rateLimit.optional(),
    SIM_RATE_LIST_IMAGES: rateLimit.optional(),
    SIM_RATE_AUTH: rateLimit.optional(),
    SIM_RATE_GET_QUOTA: rateLimit.optional(),
    SIM_RETRY_AFTER_SECONDS: int.optional(),
    SIM_ERROR_RATE: rate.optional(),
    SIM_THROTTLE_RATE: rate.optional(),
    SIM_LATENCY_MS: int.optional(),
    SIM_RESET_BEFORE_RATE: rate.optional(),
    SIM_RESET_AFTER_RATE: rate.optional(),
    SIM_MALFORMED_JSON_RATE: rate.optional(),
    /** Comma-separated operations faults apply to, e.g. `quickImport,getJob`. */
    SIM_FAULT_OPERATIONS: z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()))
      .pipe(z.array(z.enum(OPERATIONS)))
      .optional(),
    SIM_SEED: z.coerce.number().int().optional(),
    SIM_REGION: z.string().min(1).optional(),
    SIM_CLOUD: z.enum(['otc', 'hwc']).optional(),
    /** A JSON file `{ "buckets": [{ "name", "region"?, "storageClass"?, "objects"?: [{ "key", "size" }] }] }`. */
    SIM_OBS_SEED_FILE: z.string().min(1).optional(),
    SIM_OBS_JUDGING: bool.optional(),
    SIM_OBS_LATENCY_MS: z.coerce.number().int().min(0).optional(),
    SIM_IMPORT_BYTES_PER_SECOND: z.coerce.number().positive().optional(),
    SIM_IAM_CATALOG: z.enum(['empty', 'faithful']).optional(),
    /** A JSON file keeping images and jobs across restarts (state-file.ts); default none. */
    SIM_STATE_FILE: z.string().min(1).optional(),
    SIM_LOG: bool.default(true),
  })
  .refine((e) => (e.SIM_JOB_MIN_MS === undefined) === (e.SIM_JOB_MAX_MS === undefined), {
    message: 'set SIM_JOB_MIN_MS and SIM_JOB_MAX_MS together',
  })
  .refine((e) => (e.SIM_USER_NAME === undefined) === (e.SIM_USER_PASSWORD === undefined), {
    message: 'set SIM_USER_NAME and SIM_USER_PASSWORD together',
  })
  .refine((e) => (e.SIM_AK === undefined) === (e.SIM_SK === undefined), {
    message: 'set SIM_AK and SIM_SK together',
  })

/** Turns the environment into simulator options; throws a readable error (naming variables, not values). */
export function loadSimulatorConfig(
  env: Record<string, string | undefined>,
): SimulatorOptions & { port: number } {
  const parsed = SimulatorEnv.safeParse(env)
  if (!parsed.success) {
    throw new Error(`invalid simulator environment: ${z.prettifyError(parsed.error)}`)
  }
  const e = parsed.data
  const options: SimulatorOptions & { port: number } = {
    port: e.SIM_PORT,
    host: e.SIM_HOST,
    logger: e.SIM_LOG,
  }
  if (e.SIM_PROJECT_ID) options.projectId = e.SIM_PROJECT_ID
  if (e.SIM_PROJECT_NAME) options.projectName = e.SIM_PROJECT_NAME
  if (e.SIM_USER_NAME && e.SIM_USER_PASSWORD) {
    options.users = [
      { name: e.SIM_USER_NAME, password: e.SIM_USER_PASSWORD, domain: e.SIM_USER_DOMAIN ?? 'sim-domain' },
    ]
  }
  if (e.SIM_AK && e.SIM_SK) options.credentials = [{ ak: e.SIM_AK, sk: e.SIM_SK }]
  if (e.SIM_TOKEN_TTL_MS !== undefined) options.tokenTtlMs = e.SIM_TOKEN_TTL_MS
  if (e.SIM_INIT_MS !== undefined) options.initMs = e.SIM_INIT_MS
  if (e.SIM_LISTING_DELAY_MS !== undefined) options.listingDelayMs = e.SIM_LISTING_DELAY_MS
  if (e.SIM_JOB_MIN_MS !== undefined && e.SIM_JOB_MAX_MS !== undefined) {
    options.jobDurationMs = { min: e.SIM_JOB_MIN_MS, max: e.SIM_JOB_MAX_MS }
  }
  if (e.SIM_IMAGE_QUOTA !== undefined) options.imageQuota = e.SIM_IMAGE_QUOTA
  if (e.SIM_EXISTING_IMAGES !== undefined) options.existingImages = e.SIM_EXISTING_IMAGES
  if (e.SIM_MAX_CONCURRENT_IMPORTS !== undefined) options.maxConcurrentImports = e.SIM_MAX_CONCURRENT_IMPORTS
  const rateLimits = Object.fromEntries(
    (
      [
        ['quickImport', e.SIM_RATE_QUICK_IMPORT],
        ['getJob', e.SIM_RATE_GET_JOB],
        ['listImages', e.SIM_RATE_LIST_IMAGES],
        ['auth', e.SIM_RATE_AUTH],
        ['getQuota', e.SIM_RATE_GET_QUOTA],
      ] as const
    ).filter(([, limit]) => limit !== undefined),
  )
  if (Object.keys(rateLimits).length > 0) options.rateLimits = rateLimits
  if (e.SIM_RETRY_AFTER_SECONDS !== undefined) options.retryAfterSeconds = e.SIM_RETRY_AFTER_SECONDS
  const faults = {
    errorRate: e.SIM_ERROR_RATE,
    throttleRate: e.SIM_THROTTLE_RATE,
    latencyMs: e.SIM_LATENCY_MS,
    resetBeforeRate: e.SIM_RESET_BEFORE_RATE,
    resetAfterRate: e.SIM_RESET_AFTER_RATE,
    malformedJsonRate: e.SIM_MALFORMED_JSON_RATE,
    operations: e.SIM_FAULT_OPERATIONS,
  }
  const setFaults = Object.fromEntries(Object.entries(faults).filter(([, v]) => v !== undefined))
  if (Object.keys(setFaults).length > 0) options.faults = setFaults
  if (e.SIM_SEED !== undefined) options.seed = e.SIM_SEED
  if (e.SIM_REGION !== undefined) options.region = e.SIM_REGION
  if (e.SIM_CLOUD !== undefined) options.cloud = e.SIM_CLOUD
  if (e.SIM_OBS_SEED_FILE !== undefined) options.obs = readObsSeed(e.SIM_OBS_SEED_FILE)
  if (e.SIM_OBS_JUDGING !== undefined) options.obsJudging = e.SIM_OBS_JUDGING
  if (e.SIM_OBS_LATENCY_MS !== undefined) options.obsLatencyMs = e.SIM_OBS_LATENCY_MS
  if (e.SIM_IMPORT_BYTES_PER_SECOND !== undefined)
    options.importBytesPerSecond = e.SIM_IMPORT_BYTES_PER_SECOND
  if (e.SIM_IAM_CATALOG !== undefined) options.iamCatalog = e.SIM_IAM_CATALOG
  if (e.SIM_STATE_FILE !== undefined) options.stateFile = e.SIM_STATE_FILE
  return options
}

function readObsSeed(path: string): z.output<typeof ObsSeedBody> {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`invalid simulator environment: SIM_OBS_SEED_FILE unreadable (${(err as Error).message})`)
  }
  const parsed = ObsSeedBody.safeParse(json)
  if (!parsed.success) {
    throw new Error(`invalid simulator environment: SIM_OBS_SEED_FILE: ${z.prettifyError(parsed.error)}`)
  }
  return parsed.data
}
