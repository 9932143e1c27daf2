import { randomBytes } from 'node:crypto'

/** A fresh name per test (queue name, key prefix), so tests isolate without flushing Redis. */
export function uniqueName(label: string): string {
  return `${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
}
