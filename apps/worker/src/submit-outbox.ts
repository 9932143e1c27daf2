import { drainSubmitOutbox, type Logger, type Queues, type Redis } from '@ims-importer/core'
import { sleep } from './submit-gate.js'

/** Entries moved per step (one addBulk per target): a batch's 1000 imports in a few steps. */
const DRAIN_COUNT = 500
/** How long one BLMPOP waits for entries (s): the loop notices close() at least this often. */
const BLOCK_S = 1
/** Waits after a failed step: doubled per failure in a row, up to the max (ms). */
const BACKOFF_MS = 100
const BACKOFF_MAX_MS = 5000

export interface OutboxDrainer {
  /** Stops after the current step (entries taken are added or put back first). */
  close(): Promise<void>
}

/**
 * Moves the submit outbox (core submit-outbox.ts) onto the targets' submit queues, for as long
 * as the worker runs: every worker process runs one; BLMPOP gives each entry to one of them.
 * Redis errors are logged and retried with backoff; nothing taken is dropped (put back, or left
 * to the reconciler when even that fails).
 */
export function startOutboxDrainer(deps: { redis: Redis; queues: Queues; log: Logger }): OutboxDrainer {
  const { redis, queues, log } = deps
  // Its own connection: BLMPOP holds it for up to BLOCK_S (a Cluster's duplicate() too).
  const blocking = redis.duplicate()
  blocking.on('error', (err) => log.warn({ err }, 'submit outbox connection error'))
  let closing = false
  const loop = (async () => {
    let failures = 0
    while (!closing) {
      try {
        const step = await drainSubmitOutbox(blocking, redis, queues, {
          count: DRAIN_COUNT,
          blockS: BLOCK_S,
        })
        if (step.malformed.length > 0)
          log.error({ entries: step.malformed.slice(0, 10) }, 'submit outbox: entries dropped, not entries')
        failures = 0
      } catch (err) {
        if (closing) break
        failures++
        log.warn({ error: (err as Error).message, failures }, 'submit outbox: step failed; retrying')
        await sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_MS * 2 ** (failures - 1)))
      }
    }
  })()
  return {
    close: async () => {
      closing = true
      // Ends a BLMPOP that is waiting (it took nothing); a step adding jobs finishes first.
      blocking.disconnect()
      await loop
    },
  }
}
