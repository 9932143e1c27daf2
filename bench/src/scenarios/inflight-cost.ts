import {
  BULL_PREFIX,
  createImportStore,
  createRedis,
  jobIds,
  newId,
  POLL_JOB_OPTIONS,
  PollJob,
  queueNames,
  SIMULATOR_DEFAULTS,
} from '@ims-importer/core'
import { createImsClient } from '@ims-importer/ims-client'
import { SIM_AUTH, simTargetConfig, type TsProcess } from '@ims-importer/testkit'
import { Queue } from 'bullmq'
import { startSimulator } from 'ims-simulator'
import { Redis } from 'ioredis'
import { quickImportBody } from '../lib/bodies.js'
import { type BenchContext, sleep } from '../lib/context.js'
import { type SeededPoll, seedSubmitted } from '../lib/inflight-seed.js'
import { infoMemory, privateRedis } from '../lib/redis.js'
import { type Figure, figure, type ScenarioResult } from '../lib/result.js'
import { runIfMain, type Scenario } from '../lib/scenario.js'
import { mean, percentile } from '../lib/stats.js'
import { startWorkerProcess } from '../lib/workers.js'

const N = 100_000
/** Polls due during the measurement window, on top of the backlog. */
const SAMPLE = 1000
const WINDOW_MS = 30_000
/** The sample's first poll falls due this long after it is added (the worker is already up). */
const LEAD_MS = 3000
const HOUR = 3_600_000
const TARGET = 'sim'
/** Backlog polls fall due 1 to 6 hours from now: "submitted and polling with long delays". */
const backlogDelay = (i: number) => HOUR + ((i * 7919) % 5000) * HOUR * 0.001

interface Lateness {
  p50Ms: number
  p99Ms: number
  meanMs: number
  maxMs: number
  polled: number
  rssReadyKb: number
  rssAfterKb: number
  reconcile: string | null
}

/** Starts a worker on `redisUrl`, adds SAMPLE polls due over the window, and measures how late they ran. */
async function lateness(ctx: BenchContext, redisUrl: string, label: string): Promise<Lateness> {
  const sim = await startSimulator({
    seed: 3,
    initMs: 10,
    // The sample's jobs stay RUNNING through the window: each due poll is one GET and a reschedule.
    jobDurationMs: { min: 10 * HOUR, max: 10 * HOUR },
    maxConcurrentImports: 1_000_000,
    imageQuota: 1_000_000,
  })
  const conn = createRedis(redisUrl)
  let worker: TsProcess | undefined
  try {
    worker = await startWorkerProcess(ctx, {
      name: `worker-${label}`,
      redisUrl,
      targets: [
        simTargetConfig(sim.url, TARGET, {
          // The default poll rate (20/s) would itself delay a sample of 33 polls/s: raised, and said so.
          submitRate: 10,
          submitWindowMs: 1000,
          pollRate: 200,
          maxInFlight: 40,
          poll: { initialDelayMs: 30_000, factor: 1.5, maxDelayMs: 300_000, jitter: 0.1 },
        }),
      ],
      logLevel: 'info',
      keepStdout: true,
    })
    await sleep(2000)
    const rssReadyKb = worker.rssKb()
    ctx.progress(`${label}: worker up, RSS ${(rssReadyKb / 1024).toFixed(0)} MiB; creating the sample`)

    // Real IMS jobs for the sample, so each poll is a real GET.
    const client = createImsClient({
      imsEndpoint: sim.url,
      iamEndpoint: `${sim.url}/v3`,
      projectId: SIMULATOR_DEFAULTS.projectId,
      auth: SIM_AUTH,
    })
    const imsJobs: string[] = []
    for (let i = 0; i < SAMPLE; i += 50)
      imsJobs.push(
        ...(await Promise.all(
          Array.from(
            { length: Math.min(50, SAMPLE - i) },
            async (_, k) => (await client.quickImport(quickImportBody(i + k))).jobId,
          ),
        )),
      )
    await client.close()
    const base = Date.now() + LEAD_MS
    const sample: SeededPoll[] = await seedSubmitted(conn, {
      target: TARGET,
      n: SAMPLE,
      jobId: (i) => imsJobs[i] as string,
      delayMs: (i) => base + (i * WINDOW_MS) / SAMPLE - Date.now(),
      chunk: SAMPLE,
    })
    const windowEnd = Math.max(...sample.map((s) => s.dueAt))
    ctx.progress(`${label}: ${SAMPLE} polls due from +${LEAD_MS} ms over ${WINDOW_MS / 1000} s`)
    await sleep(windowEnd - Date.now() + 5000)
    const rssAfterKb = worker.rssKb()

    const store = createImportStore(conn)
    const records = await store.getMany(sample.map((s) => s.importId))
    const late: number[] = []
    records.forEach((r, i) => {
      const ran = r?.history.find((h) => h.status === 'running')
      if (ran) late.push(Date.parse(ran.at) - (sample[i] as SeededPoll).dueAt)
    })
    const reconcileLine = worker
      .stdoutLines()
      .filter((l) => l.includes('reconcile: done'))
      .at(-1)
    return {
      p50Ms: percentile(late, 50),
      p99Ms: percentile(late, 99),
      meanMs: mean(late),
      maxMs: Math.max(...late),
      polled: late.length,
      rssReadyKb,
      rssAfterKb,
      reconcile: reconcileLine ?? null,
    }
  } finally {
    await worker?.stop()
    conn.disconnect()
    await sim.close()
  }
}

/** Redis memory of N bare BullMQ delayed jobs with the same payload and options: the floor any queue-based design pays. */
async function bareJobsMemory(ctx: BenchContext): Promise<number> {
  const redis = await privateRedis()
  const conn = createRedis(redis.url)
  try {
    const before = (await infoMemory(redis.url)).used_memory ?? 0
    const queue = new Queue(queueNames.poll(TARGET), { connection: conn, prefix: BULL_PREFIX })
    for (let i = 0; i < N; i += 1000) {
      const ids = Array.from({ length: Math.min(1000, N - i) }, () => newId('imp'))
      await queue.addBulk(
        ids.map((importId, k) => ({
          name: 'poll',
          data: PollJob.parse({ importId, attempt: 1 }),
          opts: { ...POLL_JOB_OPTIONS, jobId: jobIds.poll(importId), delay: backlogDelay(i + k) },
        })),
      )
    }
    await queue.close()
    const after = (await infoMemory(redis.url)).used_memory ?? 0
    ctx.progress(`baseline: ${N} bare delayed BullMQ jobs use ${((after - before) / N).toFixed(0)} B each`)
    return (after - before) / N
  } finally {
    conn.disconnect()
    await redis.stop()
  }
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now()
  const bareBytes = await bareJobsMemory(ctx)

  const empty = await privateRedis()
  let quiet: Lateness
  try {
    quiet = await lateness(ctx, empty.url, 'no backlog')
  } finally {
    await empty.stop()
  }
  ctx.progress(`no backlog: poll lateness p50 ${quiet.p50Ms} ms, p99 ${quiet.p99Ms} ms`)

  const redis = await privateRedis()
  let loaded: Lateness
  let perImport: number
  let seedS: number
  try {
    // Auto-pipelining only speeds up the seeding (many transitions in flight at once).
    const conn = new Redis(redis.url, { enableAutoPipelining: true, maxRetriesPerRequest: null })
    const mem0 = await infoMemory(redis.url)
    const t0 = Date.now()
    await seedSubmitted(conn, {
      target: TARGET,
      n: N,
      jobId: (i) => `ff${String(i).padStart(30, '0')}`,
      delayMs: backlogDelay,
      onChunk: (done) => {
        if (done % 20_000 === 0) ctx.progress(`backlog: ${done}/${N} imports submitted and polling`)
      },
    })
    seedS = (Date.now() - t0) / 1000
    const mem1 = await infoMemory(redis.url)
    perImport = ((mem1.used_memory ?? 0) - (mem0.used_memory ?? 0)) / N
    conn.disconnect()
    ctx.progress(`backlog: ${N} imports in ${seedS.toFixed(0)} s, ${perImport.toFixed(0)} B each in Redis`)
    loaded = await lateness(ctx, redis.url, `${N} in flight`)
  } finally {
    await redis.stop()
  }
  ctx.progress(`${N} in flight: poll lateness p50 ${loaded.p50Ms} ms, p99 ${loaded.p99Ms} ms`)

  const MiB = (kb: number) => kb / 1024
  const figures: Figure[] = [
    figure({
      name: 'Redis memory per import in flight',
      unit: 'bytes',
      value: perImport,
      baseline: { name: 'one bare delayed BullMQ job', value: bareBytes },
      target: { on: 'value', op: '<=', value: 3072 },
    }),
    figure({
      name: 'Redis memory for 100,000 imports in flight',
      unit: 'MiB',
      value: (perImport * N) / 1024 / 1024,
      baseline: { name: '100,000 bare delayed BullMQ jobs', value: (bareBytes * N) / 1024 / 1024 },
    }),
    figure({
      name: 'worker RSS at start, with the backlog',
      headline: true,
      unit: 'MiB',
      value: MiB(loaded.rssReadyKb),
      baseline: { name: 'at start, empty Redis', value: MiB(quiet.rssReadyKb) },
    }),
    figure({
      name: 'worker RSS after the window, with the backlog',
      headline: true,
      unit: 'MiB',
      value: MiB(loaded.rssAfterKb),
      baseline: { name: 'after the window, empty Redis', value: MiB(quiet.rssAfterKb) },
    }),
    figure({
      name: 'due poll lateness p50',
      headline: true,
      unit: 'ms',
      value: loaded.p50Ms,
      baseline: { name: 'same sample, no backlog', value: quiet.p50Ms },
    }),
    figure({
      name: 'due poll lateness p99',
      headline: true,
      unit: 'ms',
      value: loaded.p99Ms,
      baseline: { name: 'same sample, no backlog', value: quiet.p99Ms },
    }),
  ]
  const notes = [
    `What was measured: ${N} imports put in the state the worker leaves them in after a successful submit, through the store (createMany, then transition to submitting and to submitted with an IMS job id: record JSON with its history and every index), a place each in the target's in-flight set, and each import's one poll job delayed by 1 to 6 hours (BullMQ delayed job, the worker's job options). Not through the full submit path (IMS would cap a project at 40 in flight; ${N} POSTs would not fit the time budget). Seeding took ${seedS.toFixed(0)} s. Memory = INFO used_memory after - before, / ${N}, on a private redis-server (no persistence).`,
    `Baseline for memory: ${N} bare BullMQ delayed jobs with the same payload and options in the same queue name (no record, no indexes, no in-flight entry).`,
    `Lateness: a worker process (apps/worker/src/main.ts, LOG_LEVEL=info, reconciler on) is started on that Redis; then ${SAMPLE} more imports with real IMS jobs (RUNNING for 10 h in the simulator) are added with polls due evenly over ${WINDOW_MS / 1000} s starting ${LEAD_MS / 1000} s later; lateness = when the poll recorded the import as running (its history entry) - when BullMQ made it due (timestamp + delay). ${loaded.polled}/${SAMPLE} sample polls ran with the backlog, ${quiet.polled}/${SAMPLE} without. The target's pollRate is raised to 200/s for both runs (the default 20/s would itself delay a sample of ${Math.round(SAMPLE / (WINDOW_MS / 1000))} polls/s).`,
    `Reconciler (runs at start, then every minute) as logged by the worker with the backlog: ${loaded.reconcile ?? 'no pass finished during the window'}; without: ${quiet.reconcile ?? 'no pass finished during the window'}.`,
    `Worker RSS from /proc/<pid>/status (VmRSS), 2 s after /readyz and 5 s after the last sample poll was due. BullMQ keeps delayed jobs in Redis, not in the worker, so the backlog should not grow the worker.`,
  ]
  if (perImport > 3072)
    notes.push(
      `Target <= 3 KB per import missed by ${(perImport - 3072).toFixed(0)} B (${(((perImport - 3072) / 3072) * 100).toFixed(0)}%).`,
    )
  return {
    id: 'inflight-cost',
    title: `4. Cost of an import in flight: ${N.toLocaleString('en-US')} imports submitted and polling`,
    durationS: (Date.now() - started) / 1000,
    figures,
    tables: [],
    params: { N, sample: SAMPLE, windowMs: WINDOW_MS, leadMs: LEAD_MS, loaded, quiet, bareBytes, perImport },
    notes,
  }
}

export const inflightCostScenario: Scenario = {
  id: 'inflight-cost',
  title: 'Cost of an import in flight',
  run,
}

await runIfMain(import.meta, inflightCostScenario)
