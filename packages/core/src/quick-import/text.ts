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

/** The distinct characters given, each quoted, comma-separated; the first few only. */
export function listChars(chars: Iterable<string>, max = 8): string {
  const distinct = [...new Set(chars)]
  const shown = distinct.slice(0, max).map((c) => JSON.stringify(c))
  return distinct.length > max ? `${shown.join(', ')} and ${distinct.length - max} more` : shown.join(', ')
}
