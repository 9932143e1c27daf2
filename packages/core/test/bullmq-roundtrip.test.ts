import { Queue, QueueEvents, Worker } from 'bullmq'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { BULL_PREFIX } from '../src/keys.js'
import { createRedis } from '../src/redis.js'
import { keysEverywhere } from '../src/testing/redis-keys.js'
import { uniqueName } from '../src/testing/unique.js'

describe('BullMQ on the test Redis', () => {
  const url = inject('redisUrl')
  const connection = createRedis(url)
  afterAll(async () => {
    connection.disconnect()
  })

  it('runs a job through a real queue and worker and returns its result', async () => {
    const name = uniqueName('roundtrip')
    const queue = new Queue(name, { connection, prefix: BULL_PREFIX })
    // From the stream's start: a QueueEvents reads from the newest event once its first XREAD is
    // out, which waitUntilReady does not wait for (on a cluster the job can finish before it).
    const events = new QueueEvents(name, {
      connection: createRedis(url),
      prefix: BULL_PREFIX,
      lastEventId: '0',
    })
    const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), {
      connection: createRedis(url),
      prefix: BULL_PREFIX,
    })
    try {
      await events.waitUntilReady()
      const job = await queue.add('double', { n: 21 })
      const result = await job.waitUntilFinished(events, 10_000)
      expect(result).toEqual({ doubled: 42 })
      // The keys really are under the hash-tagged prefix (one cluster slot).
      const pattern = `${BULL_PREFIX}:${name}:*`
      const keys = await keysEverywhere(connection, pattern)
      expect(keys.length).toBeGreaterThan(0)
    } finally {
      await worker.close()
      await events.close()
      await queue.obliterate({ force: true })
      await queue.close()
    }
  })
})
