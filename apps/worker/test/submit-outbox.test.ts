import {
  createAdmission,
  createQueues,
  createRedis,
  drainSubmitOutbox,
  jobIds,
  type NewImport,
  newId,
  outboxEntry,
} from '@ims-importer/core'
import { testKeys } from '@ims-importer/core/testing'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startOutboxDrainer } from '../src/submit-outbox.js'
import { silentLog, systemBody, waitUntil } from './helpers/harness.js'

/*
 * The submit outbox (docs/intake-admission.md): admission writes each record with its outbox
 * entry; the workers move entries onto the targets' submit queues. Real Redis, real BullMQ.
 */
const redis = createRedis(inject('redisUrl'))
afterAll(() => redis.quit())

const admitted = async (keys: ReturnType<typeof testKeys>, targets: string[]) => {
  const imports: NewImport[] = targets.map((target, i) => ({
    id: newId('imp'),
    tenant: 'acme',
    target,
    request: systemBody(i),
    external_id: null,
    callback_url: null,
  }))
  const made = await createAdmission(redis, { keys }).admit({
    rateLimit: { keyId: 'k', perMinute: 1000 },
    idempotency: null,
    imports,
  })
  expect(made.kind).toBe('created')
  return imports
}

describe('submit outbox', () => {
  it('admission queues each record in the outbox; a drainer moves them onto their targets’ submit queues', async () => {
    const keys = testKeys('outbox')
    const queues = createQueues(redis, keys)
    const imports = await admitted(keys, ['east', 'west', 'east'])
    expect(await redis.lrange(keys.submitOutbox, 0, -1)).toEqual(
      imports.map((i) => outboxEntry(i.target, i.id)),
    )
    const drainer = startOutboxDrainer({ redis, queues, log: silentLog() })
    try {
      await waitUntil('the outbox drained', async () => (await redis.llen(keys.submitOutbox)) === 0, 5000)
      for (const i of imports) {
        const job = await queues.submit(i.target).getJob(jobIds.submit(i.id))
        expect(job?.data).toEqual({ importId: i.id })
      }
      expect(await queues.submit('east').getWaitingCount()).toBe(2)
      expect(await queues.submit('west').getWaitingCount()).toBe(1)
      // Entries written later are moved as they come (the drainer waits on the list).
      const [late] = await admitted(keys, ['west'])
      await waitUntil(
        'the late import’s job',
        async () => Boolean(await queues.submit('west').getJob(jobIds.submit(late?.id as string))),
        5000,
      )
    } finally {
      const closing = performance.now()
      await drainer.close()
      // close() ends the waiting BLMPOP at once, not after its timeout.
      expect(performance.now() - closing).toBeLessThan(900)
      await queues.close()
    }
  })

  it('puts the entries back, in order, when their jobs cannot be added', async () => {
    const keys = testKeys('outbox-fail')
    const imports = await admitted(keys, ['east', 'west', 'east'])
    const entries = imports.map((i) => outboxEntry(i.target, i.id))
    // The queues' own connection is closed: BullMQ's add really fails while Redis is up.
    const queueRedis = createRedis(inject('redisUrl'), { failFast: true })
    const broken = createQueues(queueRedis, keys)
    queueRedis.disconnect()
    const blocking = redis.duplicate()
    try {
      await expect(drainSubmitOutbox(blocking, redis, broken, { count: 10, blockS: 1 })).rejects.toThrow()
      expect(await redis.lrange(keys.submitOutbox, 0, -1)).toEqual(entries)
      // With the queues back, the same entries are moved, each once.
      const queues = createQueues(redis, keys)
      const step = await drainSubmitOutbox(blocking, redis, queues, { count: 10, blockS: 1 })
      expect(step).toEqual({ moved: 3, malformed: [] })
      expect(await queues.submit('east').getWaitingCount()).toBe(2)
      expect(await redis.llen(keys.submitOutbox)).toBe(0)
      await queues.close()
    } finally {
      blocking.disconnect()
      await broken.close().catch(() => {})
    }
  })

  it('drops what is not an entry, and keeps moving the rest', async () => {
    const keys = testKeys('outbox-bad')
    const queues = createQueues(redis, keys)
    const [good] = await admitted(keys, ['east'])
    await redis.rpush(keys.submitOutbox, 'not-an-entry')
    const blocking = redis.duplicate()
    try {
      const step = await drainSubmitOutbox(blocking, redis, queues, { count: 10, blockS: 1 })
      expect(step).toEqual({ moved: 1, malformed: ['not-an-entry'] })
      expect(await queues.submit('east').getJob(jobIds.submit(good?.id as string))).toBeTruthy()
    } finally {
      blocking.disconnect()
      await queues.close()
    }
  })
})
