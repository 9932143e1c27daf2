import { randomBytes } from 'node:crypto'
import { createKeys, type Keys } from '../keys.js'

/**
 * A fresh namespace (key prefix, and so BullMQ prefix) for one test file: files run in parallel
 * on one Redis without seeing each other's keys, queues or channels, and nothing is flushed.
 * Pass `keys.prefix` to a spawned process as REDIS_KEY_PREFIX.
 */
export function testKeys(label = 't'): Keys {
  const safe = label.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)
  return createKeys(`{${safe}-${randomBytes(5).toString('hex')}}`)
}
