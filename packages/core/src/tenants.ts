import { hash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigError } from './config.js'

/*
 * The tenant policy (TENANTS_FILE, JSON or YAML): who may call, and what each tenant may touch.
 * Read by the API (keys, intake checks, rate limit, quota of imports not yet final) and by the
 * worker (the same checks again before a POST, callback secrets). This module never reads the
 * process environment: `env:NAME` references are resolved against the env handed in.
 *
 *   tenants:
 *     alpha:
 *       apiKeys: ["sha256:<64 hex>", "env:ALPHA_API_KEY"]   # hashed, or plaintext from the env
 *       targets: [eu-de, eu-nl]        # or "*": every configured target
 *       defaultTarget: eu-de           # default: the first of targets
 *       buckets: ["alpha-*"]           # OBS bucket patterns (* and ?); "*" allows every bucket
 *       rateLimitPerMinute: 600        # default: RATE_LIMIT_PER_MINUTE
 *       maxOpenImports: 10000          # imports not yet final at once (default 10000)
 *       callbackSecrets: ["env:ALPHA_WEBHOOK_SECRET"]   # whsec_<base64>, at most two (rotation)
 *   admins:
 *     ops: { apiKeys: ["sha256:<64 hex>"] }
 *
 * API keys are never written in the file in plaintext: `sha256:<hex>` (what `printf %s "$KEY" |
 * sha256sum` prints) or `env:NAME`. Callback secrets must be known in plaintext to sign, so
 * they may be inline, but `env:NAME` keeps them out of the file.
 */

/** Tenant names are part of Redis keys: a safe alphabet only. */
export const TENANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** Imports not yet final a tenant may have at once when its policy does not say. */
export const DEFAULT_MAX_OPEN_IMPORTS = 10_000

/** Standard Webhooks secrets: `whsec_` and the base64 of 24 to 64 random bytes. */
const WHSEC = /^whsec_[A-Za-z0-9+/]+={0,2}$/

const KeyRef = z.string().regex(/^(sha256:[0-9a-fA-F]{64}|env:[A-Za-z_][A-Za-z0-9_]*)$/, {
  message: 'must be sha256:<64 hex digits> or env:NAME (no plaintext keys in the file)',
})
const SecretRef = z.string().regex(/^(whsec_.+|env:[A-Za-z_][A-Za-z0-9_]*)$/, {
  message: 'must be whsec_<base64> or env:NAME',
})
const TargetName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { message: 'not a target name' })
const BucketPattern = z.string().regex(/^[a-z0-9.*?-]{1,63}$/, {
  message: 'a bucket name or pattern: lowercase letters, digits, ".", "-", and * or ?',
})

const TenantEntry = z.strictObject({
  apiKeys: z.array(KeyRef).min(1),
  targets: z.union([z.literal('*'), z.array(TargetName).min(1)]),
  defaultTarget: TargetName.optional(),
  buckets: z.array(BucketPattern).min(1),
  rateLimitPerMinute: z.number().int().positive().optional(),
  maxOpenImports: z.number().int().positive().default(DEFAULT_MAX_OPEN_IMPORTS),
  callbackSecrets: z
    .array(SecretRef)
    .max(2, { message: 'at most two (the current one and the next)' })
    .default([]),
})

const TenantName = z.string().regex(TENANT_PATTERN, { message: 'letters, digits, _ or -, at most 64' })

export const TenantsFile = z.strictObject({
  tenants: z.record(TenantName, TenantEntry),
  admins: z.record(TenantName, z.strictObject({ apiKeys: z.array(KeyRef).min(1) })).default({}),
})
export type TenantsFile = z.input<typeof TenantsFile>

/** One configured API key: never the plaintext, only its SHA-256. */
export interface ApiKeyEntry {
  tenant: string
  /** SHA-256 of the key (32 bytes). */
  hash: Buffer
  /** Stable, non-secret identity of the key for rate limiting: `<tenant>#<position in its list>`. */
  keyId: string
}

/** What one tenant may do. */
export interface TenantPolicy {
  name: string
  /** Targets it may use; null: every configured target (API_KEYS tenants, `targets: "*"`). */
  targets: readonly string[] | null
  /** Its default target; null: the first of `targets`, else the first configured target. */
  defaultTarget: string | null
  /** Bucket patterns it may import from (source text, for messages); null: every bucket. */
  buckets: readonly string[] | null
  /** Requests per minute per key; null: the service's RATE_LIMIT_PER_MINUTE. */
  rateLimitPerMinute: number | null
  /** Imports not yet final it may have at once; null: no cap. */
  maxOpenImports: number | null
  /** Callback signing keys (the bytes after `whsec_`, decoded), at most two. Never logged. */
  callbackSecrets: readonly Buffer[]
}

/** The parsed tenants file: each tenant's policy and every key, hashed. */
export interface Tenants {
  policies: ReadonlyMap<string, TenantPolicy>
  apiKeys: ApiKeyEntry[]
  adminKeys: ApiKeyEntry[]
  /**
   * SHA-256 (hex) of the file's content, when read from a file (loadTenants): what a service
   * started on, for watchTenantsFile. A digest, not the text: the file may hold callback secrets.
   */
  digest?: string
}

const digestOf = (text: string) => hash('sha256', text)

/** The policy of a tenant from API_KEYS (the development form): every target and bucket, no cap. */
export const unrestrictedPolicy = (name: string): TenantPolicy => ({
  name,
  targets: null,
  defaultTarget: null,
  buckets: null,
  rateLimitPerMinute: null,
  maxOpenImports: null,
  callbackSecrets: [],
})

const sha256 = (text: string): Buffer => hash('sha256', text, 'buffer')

/** Decodes `whsec_<base64>`; errors name `where`, never the value. */
export function decodeWebhookSecret(value: string, where: string): Buffer {
  if (!WHSEC.test(value)) throw new ConfigError(`${where}: must be whsec_<base64>`)
  const bytes = Buffer.from(value.slice('whsec_'.length), 'base64')
  if (bytes.length < 24 || bytes.length > 64)
    throw new ConfigError(`${where}: the secret after whsec_ must be 24 to 64 bytes (base64)`)
  return bytes
}

function fromEnv(ref: string, env: Record<string, string | undefined>, where: string): string {
  const name = ref.slice('env:'.length)
  const value = env[name]
  if (!value) throw new ConfigError(`${where}: environment variable ${name} is not set`)
  return value
}

function keyHash(ref: string, env: Record<string, string | undefined>, where: string): Buffer {
  if (ref.startsWith('sha256:')) return Buffer.from(ref.slice('sha256:'.length), 'hex')
  return sha256(fromEnv(ref, env, where))
}

/** A glob of * and ? as an anchored regular expression. */
function globRegex(pattern: string): RegExp {
  const body = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.\\^$+()[\]{}|-]/g, '\\$&')))
    .join('')
  return new RegExp(`^${body}$`)
}

const compiled = new WeakMap<readonly string[], RegExp[]>()

/** Whether a policy lets its tenant import from `bucket`. */
export function bucketAllowed(policy: TenantPolicy, bucket: string): boolean {
  if (policy.buckets === null) return true
  let res = compiled.get(policy.buckets)
  if (!res) {
    res = policy.buckets.map(globRegex)
    compiled.set(policy.buckets, res)
  }
  return res.some((r) => r.test(bucket))
}

/** Whether a policy lets its tenant use `target` (one of `configured`). */
export function targetAllowed(policy: TenantPolicy, target: string, configured: readonly string[]): boolean {
  return configured.includes(target) && (policy.targets === null || policy.targets.includes(target))
}

/** The targets a tenant may use, of the configured ones (for its own error messages). */
export function targetsOf(policy: TenantPolicy, configured: readonly string[]): string[] {
  return policy.targets === null ? [...configured] : configured.filter((t) => policy.targets?.includes(t))
}

/** The bucket of an IMS image_url (`bucket:file`), or null when it has none. */
export function bucketOf(imageUrl: unknown): string | null {
  if (typeof imageUrl !== 'string') return null
  const colon = imageUrl.indexOf(':')
  return colon > 0 ? imageUrl.slice(0, colon) : null
}

/** Why a stored import breaks its tenant's policy (the worker's check before a POST), or null. */
export function policyViolation(
  policy: TenantPolicy,
  record: { target: string; request: Record<string, unknown> },
  configured: readonly string[],
): string | null {
  if (!targetAllowed(policy, record.target, configured))
    return `tenant ${policy.name} may no longer use target "${record.target}"`
  const bucket = bucketOf(record.request.image_url)
  if (bucket !== null && !bucketAllowed(policy, bucket))
    return `bucket "${bucket}" is no longer one tenant ${policy.name} may import from`
  return null
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')
}

/**
 * Parses a tenants file's content. `targets`: the configured target names, so a policy naming
 * another is refused at start. Errors name the field (`tenants.alpha.targets.1`), never a key
 * or secret.
 */
export function parseTenants(
  raw: unknown,
  options: { env: Record<string, string | undefined>; targets: readonly string[] },
): Tenants {
  const parsed = TenantsFile.safeParse(raw)
  if (!parsed.success) throw new ConfigError(`invalid TENANTS_FILE:\n${describeIssues(parsed.error)}`)
  const { env, targets } = options
  const policies = new Map<string, TenantPolicy>()
  const apiKeys: ApiKeyEntry[] = []
  const adminKeys: ApiKeyEntry[] = []
  for (const [name, t] of Object.entries(parsed.data.tenants)) {
    const at = `TENANTS_FILE tenants.${name}`
    const allowed = t.targets === '*' ? null : t.targets
    if (allowed)
      allowed.forEach((target, i) => {
        if (!targets.includes(target))
          throw new ConfigError(`${at}.targets.${i}: "${target}" is not a configured target`)
      })
    if (t.defaultTarget !== undefined && !(allowed ?? targets).includes(t.defaultTarget))
      throw new ConfigError(`${at}.defaultTarget: "${t.defaultTarget}" is not one of the tenant's targets`)
    for (const [i, ref] of t.apiKeys.entries())
      apiKeys.push({ tenant: name, hash: keyHash(ref, env, `${at}.apiKeys.${i}`), keyId: `${name}#${i}` })
    policies.set(name, {
      name,
      targets: allowed,
      defaultTarget: t.defaultTarget ?? allowed?.[0] ?? null,
      buckets: t.buckets.includes('*') ? null : t.buckets,
      rateLimitPerMinute: t.rateLimitPerMinute ?? null,
      maxOpenImports: t.maxOpenImports,
      callbackSecrets: t.callbackSecrets.map((ref, i) => {
        const where = `${at}.callbackSecrets.${i}`
        return decodeWebhookSecret(ref.startsWith('env:') ? fromEnv(ref, env, where) : ref, where)
      }),
    })
  }
  for (const [name, a] of Object.entries(parsed.data.admins))
    for (const [i, ref] of a.apiKeys.entries())
      adminKeys.push({
        tenant: name,
        hash: keyHash(ref, env, `TENANTS_FILE admins.${name}.apiKeys.${i}`),
        keyId: `${name}#${i}`,
      })
  return { policies, apiKeys, adminKeys }
}

const unreadable = (file: string, err: unknown) =>
  new ConfigError(`TENANTS_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)

/** Reads and parses the file TENANTS_FILE names (`.json` as JSON, anything else as YAML). */
export function loadTenants(
  file: string,
  options: { env: Record<string, string | undefined>; targets: readonly string[] },
): Tenants {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw unreadable(file, err)
  }
  return { ...parseTenantsText(file, text, options), digest: digestOf(text) }
}

/** The content of the file `file` (its name says JSON or YAML), parsed. */
function parseTenantsText(
  file: string,
  text: string,
  options: { env: Record<string, string | undefined>; targets: readonly string[] },
): Tenants {
  let raw: unknown
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text)
  } catch {
    // The parser's message may quote the line, which may hold a secret.
    throw new ConfigError(`TENANTS_FILE: ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}`)
  }
  return parseTenants(raw, options)
}

/** What one look at the tenants file found. */
export type TenantsCheck = 'unchanged' | 'reloaded' | 'refused'

export interface TenantsWatch {
  /** Reads the file now (SIGHUP): a changed, valid file goes to onChange. */
  check(): Promise<TenantsCheck>
  close(): void
}

/**
 * Follows the tenants file while the service runs, so that a tenant's keys, targets, buckets and
 * limits change without a restart: every `everyMs` (0: only on check()) the file is read, and
 * content that differs from the last seen is parsed and handed to onChange. A file that does not
 * parse (or cannot be read) is refused: onError gets the reason, which names the field, never a
 * key or secret, once per distinct reason, and the policy in use stays. `env` is read at each
 * parse (a key moved to a new `env:NAME` needs that variable at start). `startedOn`: the digest of
 * the content the service runs on (loadTenants); a file changed since then is a change at the
 * first look. Without it, the content at the watcher's start is taken as the one in use.
 */
export function watchTenantsFile(options: {
  file: string
  env: Record<string, string | undefined>
  targets: readonly string[]
  everyMs: number
  onChange: (tenants: Tenants) => void
  onError: (message: string) => void
  startedOn?: string
}): TenantsWatch {
  const { file, env, targets } = options
  /** Digest of the content last seen. */
  let seen: string | null = options.startedOn ?? null
  if (seen === null) {
    try {
      seen = digestOf(readFileSync(file, 'utf8'))
    } catch {
      seen = null
    }
  }
  /** Whether `seen` parsed (the start's content did: the service started on it). */
  let seenValid = true
  let lastError: string | null = null
  const refuse = (message: string): TenantsCheck => {
    if (message !== lastError) options.onError(message)
    lastError = message
    return 'refused'
  }
  let running: Promise<TenantsCheck> | null = null
  const look = async (): Promise<TenantsCheck> => {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      return refuse(unreadable(file, err).message)
    }
    const digest = digestOf(text)
    if (digest === seen) {
      if (!seenValid) return 'refused'
      // Readable again after a failed read (a file being replaced): the policy in use is this one.
      lastError = null
      return 'unchanged'
    }
    seen = digest
    let tenants: Tenants
    try {
      tenants = parseTenantsText(file, text, { env, targets })
    } catch (err) {
      seenValid = false
      return refuse(err instanceof Error ? err.message : String(err))
    }
    seenValid = true
    lastError = null
    options.onChange(tenants)
    return 'reloaded'
  }
  // One look at a time: a SIGHUP during a timer's look waits for it, then looks again.
  const check = async (): Promise<TenantsCheck> => {
    while (running) await running.catch(() => undefined)
    running = look()
    try {
      return await running
    } finally {
      running = null
    }
  }
  const timer = options.everyMs > 0 ? setInterval(() => void check(), options.everyMs) : null
  timer?.unref()
  return {
    check,
    close: () => {
      if (timer) clearInterval(timer)
    },
  }
}
