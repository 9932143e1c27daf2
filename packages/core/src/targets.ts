import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigError } from './config.js'
import { TARGET_NAME_PATTERN } from './keys.js'

/**
 * A secret given either inline or as `env:VAR_NAME`, resolved against the env handed to
 * loadTargets (this module never reads the process environment itself).
 */
const SecretRef = z.string().min(1)

const TokenAuth = z.object({
  type: z.literal('token'),
  username: z.string().min(1),
  password: SecretRef,
  /** IAM domain (account) name. */
  domainName: z.string().min(1),
})
const AkSkAuth = z.object({
  type: z.literal('aksk'),
  ak: SecretRef,
  sk: SecretRef,
  securityToken: SecretRef.optional(),
})
export const TargetAuth = z.discriminatedUnion('type', [TokenAuth, AkSkAuth])
export type TargetAuth = z.infer<typeof TargetAuth>

export const PollSchedule = z.object({
  /** Delay before the first poll after a successful submit (ms). */
  initialDelayMs: z.number().int().positive().default(30_000),
  /** Each next delay is the previous one times this factor... */
  factor: z.number().min(1).default(1.5),
  /** ...up to this ceiling (ms). */
  maxDelayMs: z.number().int().positive().default(300_000),
  /** +/- share of the delay added at random, so polls of a batch spread out. */
  jitter: z.number().min(0).max(1).default(0.1),
  // Completion-aware planning (apps/worker/src/poll-planner.ts; policy: docs/poll-planner.md).
  // All optional: an absent one is derived from the fields above (poll-planner resolvePollPolicy),
  // so scaling initialDelayMs and maxDelayMs by one factor compresses the whole policy.
  /** Shortest delay between two polls of one import (ms). Default: initialDelayMs / 6 (5 s). */
  minDelayMs: z.number().int().positive().optional(),
  /**
   * What one job-status GET is worth, in detection latency as a share of the import's duration,
   * while imports wait for a place on the target (a second of latency is a second of IMS
   * capacity). Smaller: tighter polls near the expected end. Default 0.003.
   */
  pollCostBusy: z.number().positive().max(1).optional(),
  /** The same while no import waits for a place (latency only delays the user). Default 0.015. */
  pollCostIdle: z.number().positive().max(1).optional(),
  /**
   * Share of the poll budget (limits.pollRate) kept for polls likely to find their import
   * finished: a poll unlikely to free a place runs only while more than this share is left.
   * Default 0.25.
   */
  budgetReserve: z.number().min(0).max(1).optional(),
  /**
   * 'adaptive' (default): the completion-aware planner. 'fixed': the schedule above alone
   * (initialDelayMs x factor^n up to maxDelayMs), the behaviour of earlier releases.
   */
  planner: z.enum(['adaptive', 'fixed']).default('adaptive'),
})
export type PollSchedule = z.infer<typeof PollSchedule>

export const TargetConfig = z.object({
  name: z.string().regex(TARGET_NAME_PATTERN, 'lowercase letters, digits and -, at most 40 characters'),
  imsEndpoint: z.string().url(),
  iamEndpoint: z.string().url(),
  projectId: z.string().min(1),
  auth: TargetAuth,
  limits: z
    .object({
      /** Quick-import POSTs allowed in any sliding window of submitWindowMs. */
      submitRate: z.number().int().positive().default(10),
      submitWindowMs: z.number().int().positive().default(1000),
      /** Job-status GETs per second across all workers. */
      pollRate: z.number().int().positive().default(20),
      /** Imports submitted or running at once (IMS caps concurrent imports at about 40 per project). */
      maxInFlight: z.number().int().positive().default(40),
    })
    .prefault({}),
  poll: PollSchedule.prefault({}),
  /**
   * Which cloud the target is: 'otc' (Open Telekom Cloud, default) or 'hwc' (Huawei Cloud). It
   * decides how the quick-import body is validated (HWC takes license_type) and where job status
   * is read (HWC: GET /v1/cloudimages/job/{job_id}).
   */
  cloud: z.enum(['otc', 'hwc']).default('otc'),
  /** The target's region (e.g. eu-de): the pre-flight checks the image's bucket is in it. */
  region: z.string().min(1).optional(),
  /**
   * OBS access for the pre-flight check of image files (docs/preflight.md). Token-auth targets
   * need AK/SK here; AK/SK targets may leave `auth` out to use their own.
   */
  obs: z
    .object({
      /** OBS endpoint of the region, e.g. https://obs.eu-de.otc.t-systems.com. */
      endpoint: z.string().url(),
      auth: AkSkAuth.omit({ type: true }).optional(),
    })
    .optional(),
  /**
   * Checks of the image file in OBS before an import takes a rate-limit slot or a place:
   * 'enforce' fails the import on a failed check, 'warn' logs it and submits, 'off' skips.
   * Default: 'enforce' when the target has `obs`, else 'off'.
   */
  preflight: z.enum(['enforce', 'warn', 'off']).optional(),
  /**
   * An import whose IMS job is answered "not found" (404 / IMG.0023) for this long since the last
   * answer that knew it (or since submit) fails with ims_job_lost and frees its place (ms).
   */
  lostJobGraceMs: z
    .number()
    .int()
    .positive()
    .default(15 * 60_000),
  /**
   * The private-image quota (IMS IMG.0015): how often it is read again, shared by every worker.
   * Both optional, derived from the poll schedule's clock when absent (apps/worker/src/image-quota.ts
   * resolveQuotaPolicy; docs/image-quota.md).
   */
  quota: z
    .object({
      /** How often GET /v1/cloudimages/quota is read (ms). Default: 2 x poll.initialDelayMs (60 s). */
      refreshMs: z.number().int().positive().optional(),
      /**
       * How long after an accepted POST its image may still be missing from the quota's `used`
       * (ms); until a read that late, the import counts against the free quota itself. Default:
       * refreshMs.
       */
      countLagMs: z.number().int().min(0).optional(),
    })
    .optional(),
  /** An import not final this long after acceptance fails with deadline_exceeded (ms). */
  deadlineMs: z
    .number()
    .int()
    .positive()
    .default(24 * 3600_000),
})
export type TargetConfig = z.infer<typeof TargetConfig>

export const TargetsFile = z.object({ targets: z.array(TargetConfig).min(1) }).superRefine((v, ctx) => {
  const seen = new Set<string>()
  v.targets.forEach((t, i) => {
    if (seen.has(t.name))
      ctx.addIssue({
        code: 'custom',
        path: ['targets', i, 'name'],
        message: `duplicate target name "${t.name}"`,
      })
    seen.add(t.name)
  })
})

/** The simulator's default credentials; only ever used against the local IMS simulator. */
export const SIMULATOR_DEFAULTS = {
  url: 'http://127.0.0.1:4600',
  projectId: 'sim-project',
  username: 'sim-user',
  password: 'sim-password',
  domainName: 'sim-domain',
  /** The simulator's region (its default) and its OBS's AK/SK (apps/ims-simulator options.ts). */
  region: 'eu-de',
  obsAk: 'SIMAK0000000000000001',
  obsSk: 'sim-secret-key',
} as const

export interface TargetsEnv {
  IMS_TARGETS_FILE?: string | undefined
  IMS_TARGET_NAME?: string | undefined
  IMS_ENDPOINT?: string | undefined
  IAM_ENDPOINT?: string | undefined
  IMS_PROJECT_ID?: string | undefined
  IMS_AUTH?: string | undefined
  IMS_USERNAME?: string | undefined
  IMS_PASSWORD?: string | undefined
  IMS_DOMAIN_NAME?: string | undefined
  IMS_AK?: string | undefined
  IMS_SK?: string | undefined
  IMS_SECURITY_TOKEN?: string | undefined
  IMS_SIMULATOR_URL?: string | undefined
  [name: string]: string | undefined
}

function resolveSecret(value: string, env: TargetsEnv, where: string): string {
  if (!value.startsWith('env:')) return value
  const name = value.slice(4)
  const resolved = env[name]
  if (!resolved) throw new ConfigError(`${where}: environment variable ${name} is not set`)
  return resolved
}

function resolveAuth(auth: TargetAuth, env: TargetsEnv, where: string): TargetAuth {
  if (auth.type === 'token')
    return { ...auth, password: resolveSecret(auth.password, env, `${where}.password`) }
  return {
    ...auth,
    ak: resolveSecret(auth.ak, env, `${where}.ak`),
    sk: resolveSecret(auth.sk, env, `${where}.sk`),
    ...(auth.securityToken
      ? { securityToken: resolveSecret(auth.securityToken, env, `${where}.securityToken`) }
      : {}),
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')
}

/**
 * Targets, from the file named by IMS_TARGETS_FILE (JSON or YAML), else one target from plain
 * env (IMS_ENDPOINT ...), else the local IMS simulator. Secrets given as `env:NAME` are resolved
 * against `env`. Errors name the field, never a secret's value.
 */
export function loadTargets(env: TargetsEnv): TargetConfig[] {
  let raw: unknown
  if (env.IMS_TARGETS_FILE) {
    let text: string
    try {
      text = readFileSync(env.IMS_TARGETS_FILE, 'utf8')
    } catch (err) {
      throw new ConfigError(
        `IMS_TARGETS_FILE: cannot read ${env.IMS_TARGETS_FILE}: ${(err as Error).message}`,
      )
    }
    try {
      raw = /\.json$/i.test(env.IMS_TARGETS_FILE) ? JSON.parse(text) : parseYaml(text)
    } catch (err) {
      throw new ConfigError(
        `IMS_TARGETS_FILE: ${env.IMS_TARGETS_FILE} is not valid JSON/YAML: ${(err as Error).message}`,
      )
    }
  } else if (env.IMS_ENDPOINT) {
    const auth =
      (env.IMS_AUTH ?? 'token') === 'aksk'
        ? { type: 'aksk', ak: env.IMS_AK, sk: env.IMS_SK, securityToken: env.IMS_SECURITY_TOKEN }
        : {
            type: 'token',
            username: env.IMS_USERNAME,
            password: env.IMS_PASSWORD,
            domainName: env.IMS_DOMAIN_NAME,
          }
    raw = {
      targets: [
        {
          name: env.IMS_TARGET_NAME ?? 'default',
          imsEndpoint: env.IMS_ENDPOINT,
          iamEndpoint: env.IAM_ENDPOINT,
          projectId: env.IMS_PROJECT_ID,
          auth,
        },
      ],
    }
  } else {
    const url = env.IMS_SIMULATOR_URL ?? SIMULATOR_DEFAULTS.url
    raw = {
      targets: [
        {
          name: 'simulator',
          imsEndpoint: url,
          iamEndpoint: `${url}/v3`,
          projectId: SIMULATOR_DEFAULTS.projectId,
          // The simulator's jobs take seconds, not hours: poll it on a matching clock.
          poll: { initialDelayMs: 1000, factor: 1.5, maxDelayMs: 5000 },
          // A rate on the same clock: 30x faster jobs end 30x as often, so the GET budget is 30x
          // IMS's 20/s (the simulator does not limit GETs). At 20/s the budget, not the planner,
          // decided when 40 places of 4 s jobs were polled (check:detection: 371 of 861 deferred).
          limits: { pollRate: 600 },
          // IMS's 15 min, on the same clock (a restarted simulator keeps its jobs: see dev-stack).
          lostJobGraceMs: 30_000,
          auth: {
            type: 'token',
            username: SIMULATOR_DEFAULTS.username,
            password: SIMULATOR_DEFAULTS.password,
            domainName: SIMULATOR_DEFAULTS.domainName,
          },
          // The simulator serves OBS on the same port: pre-flight on, as for a real target.
          region: SIMULATOR_DEFAULTS.region,
          obs: { endpoint: url, auth: { ak: SIMULATOR_DEFAULTS.obsAk, sk: SIMULATOR_DEFAULTS.obsSk } },
        },
      ],
    }
  }
  const parsed = TargetsFile.safeParse(raw)
  if (!parsed.success) throw new ConfigError(`invalid IMS targets:\n${describeIssues(parsed.error)}`)
  return parsed.data.targets.map((t, i) => ({
    ...t,
    auth: resolveAuth(t.auth, env, `targets.${i}.auth`),
    ...(t.obs?.auth
      ? {
          obs: {
            ...t.obs,
            auth: {
              ak: resolveSecret(t.obs.auth.ak, env, `targets.${i}.obs.auth.ak`),
              sk: resolveSecret(t.obs.auth.sk, env, `targets.${i}.obs.auth.sk`),
              ...(t.obs.auth.securityToken
                ? {
                    securityToken: resolveSecret(
                      t.obs.auth.securityToken,
                      env,
                      `targets.${i}.obs.auth.securityToken`,
                    ),
                  }
                : {}),
            },
          },
        }
      : {}),
  }))
}
