import { hash, timingSafeEqual } from 'node:crypto'
import {
  type ApiKeyEntry,
  ConfigError,
  TENANT_PATTERN,
  type TenantPolicy,
  unrestrictedPolicy,
} from '@ims-importer/core'

export { type ApiKeyEntry, TENANT_PATTERN } from '@ims-importer/core'

const sha256 = (text: string): Buffer => hash('sha256', text, 'buffer')

/**
 * Parses `tenant:key,tenant:sha256:<hex>`. Errors name the variable and the position, never a key.
 */
export function parseApiKeys(value: string, variable: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = []
  const pairs = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
  pairs.forEach((pair, i) => {
    const colon = pair.indexOf(':')
    const tenant = colon > 0 ? pair.slice(0, colon) : ''
    const secret = colon > 0 ? pair.slice(colon + 1) : ''
    if (!TENANT_PATTERN.test(tenant))
      throw new ConfigError(
        `${variable}: entry ${i + 1} needs a tenant of letters, digits, _ or - before ':'`,
      )
    if (secret === '')
      throw new ConfigError(`${variable}: entry ${i + 1} (tenant ${tenant}) has an empty key`)
    let hash: Buffer
    if (secret.startsWith('sha256:')) {
      const hex = secret.slice('sha256:'.length)
      if (!/^[0-9a-fA-F]{64}$/.test(hex))
        throw new ConfigError(`${variable}: entry ${i + 1} (tenant ${tenant}): sha256: needs 64 hex digits`)
      hash = Buffer.from(hex, 'hex')
    } else {
      hash = sha256(secret)
    }
    entries.push({ tenant, hash, keyId: `${tenant}#${i}` })
  })
  if (entries.length === 0) throw new ConfigError(`${variable}: no keys given`)
  return entries
}

/** The bearer token of an Authorization header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1] ?? null
}

/** Configured keys by the hex SHA-256 of the key, for `findApiKeyIn` (one hash and one Map lookup per request). */
export type ApiKeyIndex = ReadonlyMap<string, ApiKeyEntry>

/** Indexes keys by their hash; when two entries share a key, the first wins. */
export function indexApiKeys(keys: readonly ApiKeyEntry[]): ApiKeyIndex {
  const index = new Map<string, ApiKeyEntry>()
  for (const entry of keys) {
    const hex = entry.hash.toString('hex')
    if (!index.has(hex)) index.set(hex, entry)
  }
  return index
}

/**
 * Finds the key a presented token matches: its SHA-256 picks the one candidate from the index,
 * and a constant-time compare of the two hashes decides. The lookup is keyed by a hash the
 * caller cannot steer, so its timing tells nothing about any configured key.
 */
export function findApiKeyIn(token: string, index: ApiKeyIndex): ApiKeyEntry | null {
  const presented = sha256(token)
  const candidate = index.get(presented.toString('hex'))
  return candidate && timingSafeEqual(presented, candidate.hash) ? candidate : null
}

/**
 * Who a request comes from, once its key matched (req.principal). `isAdmin`: the key is an
 * operator key (ADMIN_API_KEYS or the tenants file's `admins`), accepted on admin routes only;
 * its `policy` allows nothing of a tenant's.
 */
export interface Principal {
  /** The tenant (or, for an admin key, the admin's name). */
  tenant: string
  /** The key's non-secret id, for its rate limit. */
  keyId: string
  isAdmin: boolean
  /** What the tenant may do (targets, buckets, rate limit, quota of imports not yet final). */
  policy: TenantPolicy
}

/** A policy that allows nothing: an admin key's (admin routes check no tenant policy). */
const adminPolicy = (name: string): TenantPolicy => ({
  ...unrestrictedPolicy(name),
  targets: [],
  buckets: [],
  maxOpenImports: 0,
})

/** The keys and policies requests are judged by (the tenants file's, or API_KEYS and ADMIN_API_KEYS). */
export interface AuthKeys {
  apiKeys: readonly ApiKeyEntry[]
  adminKeys: readonly ApiKeyEntry[]
  tenantPolicies: ReadonlyMap<string, TenantPolicy> | null
}

/**
 * The request authenticator: tenant keys (API_KEYS, or the tenants file) and admin keys in two
 * indexes; a matched tenant key gets its tenant's policy from the tenants file, or the
 * unrestricted one of an API_KEYS tenant. `keys()` is read on each request: when it answers a
 * new object (the tenants file reloaded, tenants-reload.ts) the indexes are built anew.
 */
export function createAuthenticator(keys: () => AuthKeys) {
  let built: { from: AuthKeys; tenantKeys: ApiKeyIndex; adminKeys: ApiKeyIndex } | null = null
  const indexes = () => {
    const from = keys()
    if (built?.from !== from)
      built = { from, tenantKeys: indexApiKeys(from.apiKeys), adminKeys: indexApiKeys(from.adminKeys) }
    return built
  }
  const unrestricted = new Map<string, TenantPolicy>()
  const policyOf = (tenant: string, config: AuthKeys): TenantPolicy => {
    const configured = config.tenantPolicies?.get(tenant)
    if (configured) return configured
    const known = unrestricted.get(tenant)
    if (known) return known
    const p = unrestrictedPolicy(tenant)
    unrestricted.set(tenant, p)
    return p
  }
  return (token: string, admin: boolean): Principal | null => {
    const { from, tenantKeys, adminKeys } = indexes()
    const key = findApiKeyIn(token, admin ? adminKeys : tenantKeys)
    if (!key) return null
    return admin
      ? { tenant: key.tenant, keyId: key.keyId, isAdmin: true, policy: adminPolicy(key.tenant) }
      : { tenant: key.tenant, keyId: key.keyId, isAdmin: false, policy: policyOf(key.tenant, from) }
  }
}
