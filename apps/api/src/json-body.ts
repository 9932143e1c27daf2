import { formatPath } from '@ims-importer/core'
import type { FieldError } from './problem.js'

/**
 * Where a JSON text has the keys Fastify's secure parser refuses (`__proto__`, or `constructor`
 * holding a `prototype`), as body paths (`items[3].__proto__`, formatted as every validation
 * error is), for a 400 that names them. The text is read again with JSON.parse, which makes such
 * keys own properties (never prototypes), and walked breadth first without recursion, as the
 * parser walks it; at most `limit` paths.
 */
export function prototypeKeyErrors(text: string, limit = 10): FieldError[] {
  let root: unknown
  try {
    root = JSON.parse(text)
  } catch {
    return []
  }
  const errors: FieldError[] = []
  let level: { value: unknown; path: PropertyKey[] }[] = [{ value: root, path: [] }]
  while (level.length > 0 && errors.length < limit) {
    const next: typeof level = []
    for (const { value, path } of level) {
      if (value === null || typeof value !== 'object') continue
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) next.push({ value: value[i], path: [...path, i] })
        continue
      }
      const node = value as Record<string, unknown>
      if (Object.hasOwn(node, '__proto__'))
        errors.push({
          path: formatPath([...path, '__proto__']),
          message: 'the key "__proto__" is not accepted in a request body',
        })
      const ctor = Object.hasOwn(node, 'constructor') ? node.constructor : undefined
      if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype'))
        errors.push({
          path: formatPath([...path, 'constructor', 'prototype']),
          message: 'a "constructor" object with a "prototype" key is not accepted in a request body',
        })
      for (const key of Object.keys(node)) next.push({ value: node[key], path: [...path, key] })
    }
    level = next
  }
  return errors.slice(0, limit)
}
