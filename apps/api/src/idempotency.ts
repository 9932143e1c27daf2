import { createHash } from 'node:crypto'
import { keys, type Redis } from '@ims-importer/core'
import { defineScript } from './redis-script.js'

/** Idempotency records are kept this long after the first answer (the contract says at least 24 h). */
export const IDEMPOTENCY_TTL_MS = 25 * 3600_000
/**
 * The in-progress marker expires by itself after this long, so a process that died mid-request
 * does not block the key for a day; requests finish (or fail with 503) well within it.
 */
export const IDEMPOTENCY_LEASE_MS = 60_000
/** Longest Idempotency-Key accepted (it is part of a Redis key). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255

/** What an earlier request answered, stored for replay. */
export interface StoredResponse {
  status: number
  body: unknown
  location?: string
}

export type IdempotencyBegin =
  | { kind: 'started' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' }

export interface IdempotencyStore {
  /** Claims the key for this body, or says why not (same body done: replay; other body; still running). */
  begin(tenant: string, key: string, bodyHash: string): Promise<IdempotencyBegin>
  /** Stores the answer under the key (kept IDEMPOTENCY_TTL_MS). */
  complete(tenant: string, key: string, bodyHash: string, response: StoredResponse): Promise<void>
  /** Drops an in-progress claim after a request failed without accepting anything, so a retry can run. */
  release(tenant: string, key: string, bodyHash: string): Promise<void>
}

/**
 * JSON with object keys sorted at every level, so equal bodies hash equally whatever the key order.
 * Iterative, not recursive: a batch item may be nested 100,000 levels deep (it is refused, but
 * the batch's body is hashed whole), which would overflow the call stack.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = []
  // Work to do, last first: a value still to write, or text to emit as is.
  const todo: ({ text: string } | { value: unknown })[] = [{ value }]
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    if ('text' in item) {
      out.push(item.text)
      continue
    }
    const v = item.value
    if (Array.isArray(v)) {
      todo.push({ text: ']' })
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ value: v[i] })
        if (i > 0) todo.push({ text: ',' })
      }
      todo.push({ text: '[' })
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, e]) => e !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      todo.push({ text: '}' })
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, e] = entries[i] as [string, unknown]
        todo.push({ value: e }, { text: `${JSON.stringify(k)}:` })
        if (i > 0) todo.push({ text: ',' })
      }
      todo.push({ text: '{' })
    } else out.push(JSON.stringify(v) ?? 'null')
  }
  return out.join('')
}

/** Hash of what makes two requests "the same": the route and the canonical body. */
export function requestHash(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(canonicalJson(body)).digest('hex')
}

// KEYS[1] idempotency key. ARGV: body hash, lease ms.
const BEGIN = `
local cur = redis.call('HMGET', KEYS[1], 'state', 'hash', 'response')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'state', 'in_progress', 'hash', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'started'}
end
if cur[2] ~= ARGV[1] then return {'mismatch'} end
if cur[1] == 'in_progress' then return {'in_progress'} end
return {'replay', cur[3]}
`
// KEYS[1]. ARGV: body hash, response JSON, ttl ms. Only the claim's owner (same hash, in progress) completes.
const COMPLETE = `
local cur = redis.call('HMGET', KEYS[1], 'state', 'hash')
if cur[1] and cur[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'hash', ARGV[1], 'response', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`
// KEYS[1]. ARGV: body hash.
const RELEASE = `
local cur = redis.call('HMGET', KEYS[1], 'state', 'hash')
if cur[1] == 'in_progress' and cur[2] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** Idempotency records as Redis hashes under keys.idempotency(tenant, key): tenant-scoped. */
export function createIdempotencyStore(redis: Redis): IdempotencyStore {
  const keyOf = (tenant: string, key: string) =>
    // The caller's key is hashed into the Redis key: any characters, bounded length.
    keys.idempotency(tenant, createHash('sha256').update(key).digest('hex'))
  const begin = defineScript(redis, 'imsApiIdemBegin', 1, BEGIN)
  const complete = defineScript(redis, 'imsApiIdemComplete', 1, COMPLETE)
  const release = defineScript(redis, 'imsApiIdemRelease', 1, RELEASE)
  return {
    async begin(tenant, key, bodyHash) {
      const reply = (await begin(keyOf(tenant, key), bodyHash, IDEMPOTENCY_LEASE_MS)) as [string, string?]
      const kind = reply[0]
      if (kind === 'replay') return { kind, response: JSON.parse(reply[1] ?? 'null') as StoredResponse }
      if (kind === 'started' || kind === 'mismatch' || kind === 'in_progress') return { kind }
      throw new Error(`idempotency: unexpected reply ${String(kind)}`)
    },
    async complete(tenant, key, bodyHash, response) {
      await complete(keyOf(tenant, key), bodyHash, JSON.stringify(response), IDEMPOTENCY_TTL_MS)
    },
    async release(tenant, key, bodyHash) {
      await release(keyOf(tenant, key), bodyHash)
    },
  }
}
