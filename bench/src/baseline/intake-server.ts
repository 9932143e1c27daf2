// The intake baseline, run as its own process: a bare Fastify app with the API's own zod
// schema for the body and one queue.add (addBulk for a batch). No auth, no idempotency, no
// record, no metrics, no logging: what is left when everything the service adds is taken away.
import { ImportRequestBody } from '@ims-importer/api'
import { BULL_PREFIX, newId, SUBMIT_JOB_OPTIONS } from '@ims-importer/core'
import { Queue } from 'bullmq'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { z } from 'zod'
import { exitOnSignal } from './exit-on-signal.js'

const env = z
  .object({
    PORT: z.coerce.number().int(),
    REDIS_URL: z.string().url(),
    QUEUE: z.string().default('submit-baseline'),
  })
  .parse(process.env)

const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null })
const queue = new Queue(env.QUEUE, { connection, prefix: BULL_PREFIX })
queue.on('error', () => {})
await queue.waitUntilReady()

const BatchBody = z.object({ items: z.array(z.unknown()).min(1).max(1000) })

const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 })
app.get('/health', async () => ({ status: 'ok' }))
app.post('/v1/imports', async (req, reply) => {
  const parsed = ImportRequestBody.safeParse(req.body)
  if (!parsed.success) return reply.code(400).send({ error: z.prettifyError(parsed.error) })
  const importId = newId('imp')
  await queue.add(
    'submit',
    { importId, request: parsed.data },
    { ...SUBMIT_JOB_OPTIONS, jobId: `submit-${importId}` },
  )
  return reply.code(202).send({ id: importId })
})
app.post('/v1/batches', async (req, reply) => {
  const envelope = BatchBody.safeParse(req.body)
  if (!envelope.success) return reply.code(400).send({ error: z.prettifyError(envelope.error) })
  const jobs = []
  for (const item of envelope.data.items) {
    const parsed = ImportRequestBody.safeParse(item)
    if (!parsed.success) continue
    const importId = newId('imp')
    jobs.push({
      name: 'submit',
      data: { importId, request: parsed.data },
      opts: { ...SUBMIT_JOB_OPTIONS, jobId: `submit-${importId}` },
    })
  }
  await queue.addBulk(jobs)
  return reply.code(202).send({ accepted: jobs.length })
})

await app.listen({ port: env.PORT, host: '127.0.0.1' })
exitOnSignal(
  () => app.close(),
  () => queue.close(),
  () => connection.quit(),
)
