import { hash, timingSafeEqual } from 'node:crypto'
import { ConfigError } from '@ims-importer/core'

/** SHA-256 of each operator key: the only form the worker keeps. */
export type AdminKeyHashes = readonly Buffer[]

const sha256 = (text: string): Buffer => hash('sha256', text, 'buffer')

/**
 * ADMIN_API_KEYS as the API reads it (`name:key` or `name:sha256:<64 hex>`, comma-separated):
 * the keys that may read the worker's /metrics when METRICS_AUTH is on. Errors name the
 * variable and the position, never a key.
 */
export function parseAdminKeys(value: string | undefined): AdminKeyHashes {
  const pairs = (value ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
  if (pairs.length === 0) throw new ConfigError('ADMIN_API_KEYS: required when METRICS_AUTH is on')
  return pairs.map((pair, i) => {
    const colon = pair.indexOf(':')
    const secret = colon > 0 ? pair.slice(colon + 1) : ''
    if (secret === '') throw new ConfigError(`ADMIN_API_KEYS: entry ${i + 1} needs name:key`)
    if (!secret.startsWith('sha256:')) return sha256(secret)
    const hex = secret.slice('sha256:'.length)
    if (!/^[0-9a-fA-F]{64}$/.test(hex))
      throw new ConfigError(`ADMIN_API_KEYS: entry ${i + 1}: sha256: needs 64 hex digits`)
    return Buffer.from(hex, 'hex')
  })
}

/** Whether an Authorization header carries one of the keys (constant-time compare of hashes). */
export function isAdminBearer(header: string | undefined, keys: AdminKeyHashes): boolean {
  const token = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined
  if (!token) return false
  const presented = sha256(token)
  let found = false
  for (const k of keys) found = timingSafeEqual(presented, k) || found
  return found
}
