/** A value quoted for a message, cut short so one long input does not flood the answer. */
export function quote(value: unknown, max = 64): string {
  if (typeof value !== 'string') return describeType(value)
  const shown = value.length > max ? `${value.slice(0, max)}...` : value
  return JSON.stringify(shown)
}

/** "a number", "null", "an array", ...: how a JSON value that has the wrong type reads. */
export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return 'a string'
  if (typeof value === 'number') return 'a number'
  if (typeof value === 'boolean') return 'a boolean'
  return typeof value
}

/** The distinct characters given, each quoted, comma-separated. */
export function listChars(chars: Iterable<string>): string {
  return [...new Set(chars)].map((c) => JSON.stringify(c)).join(', ')
}
