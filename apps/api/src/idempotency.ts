import { hash } from 'node:crypto'

/** Longest Idempotency-Key accepted (it is part of a Redis key). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255

/**
 * What an earlier request answered, stored under its Idempotency-Key for replay (core's
 * StoredAnswer `response`; a single import stores its id instead, see routes/imports.ts).
 */
export interface StoredResponse {
  status: number
  body: unknown
  location?: string
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
