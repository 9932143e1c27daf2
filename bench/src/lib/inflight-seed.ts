import {
  createImportStore,
  createQueues,
  jobIds,
  keys,
  newId,
  POLL_JOB_OPTIONS,
  PollJob,
  type Redis,
} from '@ims-importer/core'
import { quickImportBody } from './bodies.js'

export interface SeededPoll {
  importId: string
  /** Epoch ms at which BullMQ makes the poll job due (timestamp + delay). */
  dueAt: number
}

/**
 * Puts `n` imports into the state the worker leaves them in after a successful submit: the
 * record moved queued -> submitting -> submitted through the store (with its IMS job id and
 * indexes), a place in the target's in-flight set, and the import's one poll job delayed by
 * `delayMs(i)`. `jobId(i)` gives the IMS job id (a real one for imports that will be polled).
 */
export async function seedSubmitted(
  redis: Redis,
  o: {
    target: string
    n: number
    jobId: (i: number) => string
    delayMs: (i: number) => number
    chunk?: number
    onChunk?: (done: number) => void
  },
): Promise<SeededPoll[]> {
  const store = createImportStore(redis)
  const queues = createQueues(redis)
  const chunk = o.chunk ?? 1000
  const out: SeededPoll[] = []
  try {
    for (let start = 0; start < o.n; start += chunk) {
      const idx = Array.from({ length: Math.min(chunk, o.n - start) }, (_, k) => start + k)
      const inputs = idx.map((i) => ({
        id: newId('imp'),
        tenant: 'bench',
        target: o.target,
        request: quickImportBody(i),
      }))
      await store.createMany(inputs)
      await Promise.all(
        inputs.map(async (x, k) => {
          const marked = await store.transition(
            x.id,
            'submitting',
            { attempts: { submit: 1, poll: 0 } },
            { reason: 'submit attempt 1' },
          )
          await store.transition(
            x.id,
            'submitted',
            {
              submitted_at: new Date().toISOString(),
              ims: { job_id: o.jobId(idx[k] as number), job_status: 'INIT' },
            },
            { expectedVersion: marked.version },
          )
        }),
      )
      const now = Date.now()
      await redis.zadd(keys.inflight(o.target), ...inputs.flatMap((x) => [now, x.id]))
      const jobs = await queues.poll(o.target).addBulk(
        inputs.map((x, k) => ({
          name: 'poll',
          data: PollJob.parse({ importId: x.id, attempt: 1 }),
          opts: { ...POLL_JOB_OPTIONS, jobId: jobIds.poll(x.id), delay: o.delayMs(idx[k] as number) },
        })),
      )
      for (const j of jobs) out.push({ importId: j.data.importId, dueAt: j.timestamp + (j.opts.delay ?? 0) })
      o.onChunk?.(start + inputs.length)
    }
  } finally {
    await queues.close()
  }
  return out
}
