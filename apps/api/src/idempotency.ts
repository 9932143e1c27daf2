import { hash } from 'node:crypto'
import { type CompanionHash, keys, luaScript, type Redis, runScript } from '@ims-importer/core'

/** Idempotency records are kept this long after the first answer (the contract says at least 24 h). */
export const IDEMPOTENCY_TTL_MS = 25 * 3600_000
/** Longest Idempotency-Key accepted (it is part of a Redis key). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255

/** What an earlier request answered, stored for replay. */
export interface StoredResponse {
  status: number
  body: unknown
  location?: string
}

/**
 * What a key's record keeps to answer a replay: the answer itself, or (a single import) the
 * import's id: its 202 body is rebuilt from the record, which holds everything it was made of
 * (firstView in routes/imports.ts), so the answer is not stored twice.
 */
export type StoredAnswer = { response: StoredResponse } | { importId: string }

/** What an Idempotency-Key says about a request (no record: the request goes on). */
export type IdempotencyLookup =
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'replay_import'; importId: string }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' }

/**
 * An Idempotency-Key's record is a Redis hash (state, hash, response or import). It is looked up in the
 * same script that takes the key's rate limit and writes the import records (a guarded create,
 * see rate-limit.ts), and the answer is written there too, as the records' companion hash: the
 * lookup, the records and the stored answer are one atomic step, so concurrent requests with
 * one key make one import and the others replay its answer.
 */
export interface IdempotencyStore {
  /** The Redis key of a tenant's Idempotency-Key (the caller's key is hashed into it). */
  keyOf(tenant: string, key: string): string
  /** The write that stores `answer` under `redisKey` (keyOf), for store.create's companion. */
  answer(redisKey: string, bodyHash: string, answer: StoredAnswer): CompanionHash
  /**
   * Drops the key's answer after a request failed without accepting anything, so a retry runs;
   * another body's record is left alone.
   */
  forget(redisKey: string, bodyHash: string): Promise<void>
}

/** Deeper values are written by the iterative walk (a batch may nest 100,000 levels deep). */
const MAX_RECURSIVE_DEPTH = 64

/**
 * The keys of `obj` in code-unit order (as Array.prototype.sort orders strings). Bodies have a
 * handful of keys per object: an insertion sort in place allocates nothing beyond the key list.
 */
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj)
  if (keys.length > 32) return keys.sort()
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string
    let j = i - 1
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = k
  }
  return keys
}

/** canonicalJson for values nested at most MAX_RECURSIVE_DEPTH deep (null when deeper): the fast path. */
function canonicalRecursive(v: unknown, depth: number): string | null {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null'
  if (depth > MAX_RECURSIVE_DEPTH) return null
  if (Array.isArray(v)) {
    let out = '['
    for (let i = 0; i < v.length; i++) {
      const item = canonicalRecursive(v[i], depth + 1)
      if (item === null) return null
      out += i === 0 ? item : `,${item}`
    }
    return `${out}]`
  }
  const obj = v as Record<string, unknown>
  let out = '{'
  for (const k of sortedKeys(obj)) {
    if (obj[k] === undefined) continue
    const item = canonicalRecursive(obj[k], depth + 1)
    if (item === null) return null
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(k)}:${item}`
  }
  return `${out}}`
}

/**
 * JSON with object keys sorted at every level, so equal bodies hash equally whatever the key order.
 * Recursive up to MAX_RECURSIVE_DEPTH; deeper values (a batch item may be nested 100,000 levels
 * deep: it is refused, but the batch's body is hashed whole) go through an iterative walk that
 * cannot overflow the call stack. Both write the same text.
 */
export function canonicalJson(value: unknown): string {
  return canonicalRecursive(value, 0) ?? canonicalIterative(value)
}

/** canonicalJson without recursion, for any depth. */
export function canonicalIterative(value: unknown): string {
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
  return hash('sha256', `${route}\n${canonicalJson(body)}`)
}

/**
 * Lua function looking up an Idempotency-Key for a body hash, for scripts that include it: nil
 * (unused: go on), {'replay', response JSON or '', import id or ''}, {'mismatch'} (used with another body) or
 * {'in_progress'} (a claim without an answer: this version writes none, it is answered 409).
 */
export const IDEMPOTENCY_LOOKUP_LUA = `
local function idempotency_lookup(key, hash)
  local cur = redis.call('HMGET', key, 'state', 'hash', 'response', 'import')
  if not cur[1] then return nil end
  if cur[2] ~= hash then return {'mismatch'} end
  if cur[1] ~= 'done' then return {'in_progress'} end
  return {'replay', cur[3] or '', cur[4] or ''}
end
`

/** Reads a non-nil reply of IDEMPOTENCY_LOOKUP_LUA. */
export function parseLookup(reply: unknown[]): IdempotencyLookup {
  const [kind, response, importId] = reply as [string, string?, string?]
  if (kind === 'replay')
    return response
      ? { kind, response: JSON.parse(response) as StoredResponse }
      : { kind: 'replay_import', importId: importId ?? '' }
  if (kind === 'mismatch' || kind === 'in_progress') return { kind }
  throw new Error(`idempotency: unexpected reply ${String(kind)}`)
}

// KEYS[1]. ARGV: body hash.
const FORGET = luaScript(`
if redis.call('HGET', KEYS[1], 'hash') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

/** Idempotency records as Redis hashes under keys.idempotency(tenant, key): tenant-scoped. */
export function createIdempotencyStore(redis: Redis): IdempotencyStore {
  const keyOf = (tenant: string, key: string) =>
    // The caller's key is hashed into the Redis key: any characters, bounded length.
    keys.idempotency(tenant, hash('sha256', key))
  return {
    keyOf,
    answer: (redisKey, bodyHash, answer) => ({
      key: redisKey,
      fields: {
        state: 'done',
        hash: bodyHash,
        ...('importId' in answer
          ? { import: answer.importId }
          : { response: JSON.stringify(answer.response) }),
      },
      ttlMs: IDEMPOTENCY_TTL_MS,
    }),
    async forget(redisKey, bodyHash) {
      await runScript(redis, FORGET, [redisKey], [bodyHash])
    },
  }
}
