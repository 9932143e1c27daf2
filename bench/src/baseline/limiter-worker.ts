// The limit-precision baseline, run as its own process: a bare BullMQ Worker whose only limit
// is BullMQ's own limiter { max: R, duration: W }, doing the same quick-import POSTs.
import { BULL_PREFIX, SIMULATOR_DEFAULTS } from '@ims-importer/core'
import { createImsClient } from '@ims-importer/ims-client'
import { type Job, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { z } from 'zod'
import { exitOnSignal } from './exit-on-signal.js'

const env = z
  .object({
    REDIS_URL: z.string().url(),
    SIM_URL: z.string().url(),
    RATE: z.coerce.number().int().positive(),
    WINDOW_MS: z.coerce.number().int().positive(),
    QUEUE: z.string().min(1),
    CONCURRENCY: z.coerce.number().int().positive().default(10),
  })
  .parse(process.env)

const client = createImsClient({
  imsEndpoint: env.SIM_URL,
  iamEndpoint: `${env.SIM_URL}/v3`,
  projectId: SIMULATOR_DEFAULTS.projectId,
  auth: {
    type: 'token',
    username: SIMULATOR_DEFAULTS.username,
    password: SIMULATOR_DEFAULTS.password,
    domainName: SIMULATOR_DEFAULTS.domainName,
  },
})
// Token first, so that no POST waits for IAM after the limiter let it go.
await client.listImages({ limit: 1 })

const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null })
const worker = new Worker(
  env.QUEUE,
  async (job: Job<{ body: Record<string, unknown> }>) => (await client.quickImport(job.data.body)).jobId,
  {
    connection,
    prefix: BULL_PREFIX,
    concurrency: env.CONCURRENCY,
    limiter: { max: env.RATE, duration: env.WINDOW_MS },
  },
)
worker.on('error', () => {})
await worker.waitUntilReady()
process.stdout.write('ready\n')

exitOnSignal(
  () => worker.close(),
  () => client.close(),
  () => connection.quit(),
)
