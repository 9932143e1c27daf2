import { hash, timingSafeEqual } from 'node:crypto'
import { ConfigError } from '@ims-importer/core'

/** One configured API key: never the plaintext, only its SHA-256. */
export interface ApiKeyEntry {
  tenant: string
  /** SHA-256 of the key (32 bytes). */
  hash: Buffer
  /** Stable, non-secret identity of the key for rate limiting: `<tenant>#<position in its list>`. */
  keyId: string
}

/** Tenant names are part of Redis keys: a safe alphabet only. */
export const TENANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

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
