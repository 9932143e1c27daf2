import { join } from 'node:path'
import { BULL_PREFIX, createRedis } from '@ims-importer/core'
import { simTargetConfig, spawnTs, stopAll, type TsProcess } from '@ims-importer/testkit'
import { marginBounds } from '@ims-importer/worker'
import { Queue } from 'bullmq'
import { type RunningSimulator, startSimulator } from 'ims-simulator'
import { quickImportBody } from '../lib/bodies.js'
import { type BenchContext, childEnv, sleep } from '../lib/context.js'
import { privateRedis } from '../lib/redis.js'
import { type Figure, figure, type ScenarioResult } from '../lib/result.js'
import { runIfMain, type Scenario } from '../lib/scenario.js'
import { achievedPerWindow, maxInSlidingWindow } from '../lib/stats.js'
import { createImports } from '../lib/store-seed.js'
import { startWorkerProcess } from '../lib/workers.js'

const R = 20
const W = 1000
/** About 30 windows of work. */
const N = 600
const WORKERS = 2
const TARGET = 'sim'
const BASE_QUEUE = 'baseline-limiter'
/** The gate's adaptive margin bounds for W (apps/worker/src/submit-gate.ts). */
const { min: MARGIN_FLOOR, max: MARGIN_CEILING } = marginBounds(W)

const simOptions = () => ({
  seed: 11,
  initMs: 10,
  jobDurationMs: { min: 50, max: 100 },
  maxConcurrentImports: 1_000_000,
  imageQuota: 1_000_000,
  rateLimits: { quickImport: { limit: R, windowMs: W } },
})

interface Precision {
  /** Arrival offsets (ms) in the densest window: shows how admissions bunch on arrival. */
  densest: number[]
  posts: number
  maxInWindow: number
  /** POSTs that arrived when the window [arrival - W, arrival] already held R: what IMS's sliding count would refuse. */
  overLimit: number
  achievedPerWindow: number
  throttled: number
  spanS: number
}

/** Arrivals (sorted) that were the (R+1)th or later within one sliding window of W ending at them. */
function overLimit(sorted: readonly number[], windowMs: number, limit: number): number {
  let over = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) <= (sorted[i] as number) - windowMs) j++
    if (i - j + 1 > limit) over++
  }
  return over
}

function precisionOf(sim: RunningSimulator): Precision {
  const log = sim.control.requestLog('quickImport')
  const times = log.map((e) => e.at)
  const sorted = [...times].sort((a, b) => a - b)
  let densest: number[] = []
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && (sorted[j] as number) < (sorted[i] as number) + W) j++
    if (j - i > densest.length) densest = sorted.slice(i, j).map((t) => t - (sorted[i] as number))
  }
  return {
    densest,
    posts: log.length,
    maxInWindow: maxInSlidingWindow(times, W),
    overLimit: overLimit(sorted, W, R),
    achievedPerWindow: achievedPerWindow(times, W),
    throttled: log.filter((e) => e.status === 429).length,
    spanS: times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : 0,
  }
}

async function waitForPosts(
  ctx: BenchContext,
  sim: RunningSimulator,
  n: number,
  what: string,
  children: TsProcess[],
) {
  const deadline = Date.now() + 120_000
  let last = 0
  for (;;) {
    const got = sim.control.requestLog('quickImport').filter((e) => e.status !== 429).length
    if (got >= n) return
    if (Date.now() > deadline)
      throw new Error(
        `${what}: only ${got}/${n} POSTs accepted after 120 s\n${children.map((c) => c.output()).join('\n')}`,
      )
    if (Date.now() - last > 10_000) {
      last = Date.now()
      ctx.progress(`${what}: ${got}/${n} POSTs accepted`)
    }
    await sleep(200)
  }
}

/**
 * One side's run on its own rig (a private Redis, a simulator, the worker processes `run` starts
 * into `workers`): the precision of the POSTs the simulator saw once `run` is done; all stopped.
 */
async function measure(
  run: (rig: {
    redisUrl: string
    sim: RunningSimulator
    conn: ReturnType<typeof createRedis>
    workers: TsProcess[]
  }) => Promise<void>,
): Promise<Precision> {
  const redis = await privateRedis()
  const sim = await startSimulator(simOptions())
  const conn = createRedis(redis.url)
  const workers: TsProcess[] = []
  try {
    await run({ redisUrl: redis.url, sim, conn, workers })
    return precisionOf(sim)
  } finally {
    await stopAll(workers)
    conn.disconnect()
    await sim.close()
    await redis.stop()
  }
}

function runOurs(ctx: BenchContext): Promise<Precision> {
  return measure(async ({ redisUrl, sim, conn, workers }) => {
    const target = simTargetConfig(sim.url, TARGET, {
      submitRate: R,
      submitWindowMs: W,
      pollRate: 1000,
      maxInFlight: 1_000_000,
      poll: { initialDelayMs: 500, factor: 1.5, maxDelayMs: 2000, jitter: 0.1 },
    })
    for (let i = 0; i < WORKERS; i++)
      workers.push(await startWorkerProcess(ctx, { name: `worker-${i + 1}`, redisUrl, targets: [target] }))
    sim.control.reset()
    await createImports(conn, TARGET, N)
    ctx.progress(`ours: ${N} imports queued for ${WORKERS} worker processes`)
    await waitForPosts(ctx, sim, N, 'ours', workers)
  })
}

function runBaseline(ctx: BenchContext): Promise<Precision> {
  return measure(async ({ redisUrl, sim, conn, workers }) => {
    for (let i = 0; i < WORKERS; i++) {
      const child = spawnTs({
        name: `baseline-${i + 1}`,
        entry: join(ctx.root, 'bench/src/baseline/limiter-worker.ts'),
        cwd: join(ctx.root, 'bench'),
        keepStdout: true,
        env: childEnv(ctx, {
          REDIS_URL: redisUrl,
          SIM_URL: sim.url,
          RATE: String(R),
          WINDOW_MS: String(W),
          QUEUE: BASE_QUEUE,
        }),
      })
      workers.push(child)
      const deadline = Date.now() + 60_000
      while (!child.stdoutLines().includes('ready')) {
        if (Date.now() > deadline || !child.alive())
          throw new Error(`${child.name} did not start:\n${child.output()}`)
        await sleep(100)
      }
    }
    sim.control.reset()
    const queue = new Queue(BASE_QUEUE, { connection: conn, prefix: BULL_PREFIX })
    await queue.addBulk(
      Array.from({ length: N }, (_, i) => ({
        name: 'submit',
        data: { body: quickImportBody(i) },
        opts: { removeOnComplete: true, removeOnFail: true },
      })),
    )
    await queue.close()
    ctx.progress(`baseline: ${N} jobs queued for ${WORKERS} bare BullMQ limiter processes`)
    // A 429 fails the job (a bare worker has no answer to it); count POSTs sent, not accepted.
    const deadline = Date.now() + 120_000
    while (sim.control.requestLog('quickImport').length < N) {
      if (Date.now() > deadline) throw new Error('baseline: POSTs did not arrive within 120 s')
      await sleep(200)
    }
  })
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now()
  const ours = await runOurs(ctx)
  const line = (p: Precision) =>
    `max ${p.maxInWindow} in any ${W} ms, ${p.overLimit} POSTs over the limit, achieved ${p.achievedPerWindow.toFixed(2)}/${R} = ${(p.achievedPerWindow / R).toFixed(4)} of the limit`
  ctx.progress(`ours: ${line(ours)}`)
  const base = await runBaseline(ctx)
  ctx.progress(`baseline: ${line(base)}`)
  const BASE = `bare BullMQ limiter { max: ${R}, duration: ${W} }`
  const figures: Figure[] = [
    figure({
      name: `max POSTs in any sliding ${W} ms window (limit R = ${R})`,
      unit: 'POSTs',
      value: ours.maxInWindow,
      baseline: { name: BASE, value: base.maxInWindow },
      target: { on: 'value', op: '<=', value: R },
    }),
    figure({
      name: `POSTs over the limit (arrived when the sliding ${W} ms window before them held R)`,
      unit: 'POSTs',
      value: ours.overLimit,
      baseline: { name: BASE, value: base.overLimit },
      target: { on: 'value', op: '<=', value: 0 },
    }),
    figure({
      name: 'achieved rate / R',
      unit: 'x',
      value: ours.achievedPerWindow / R,
      baseline: { name: BASE, value: base.achievedPerWindow / R },
      target: { on: 'value', op: '>=', value: 0.95 },
    }),
    figure({
      name: 'POSTs answered 429 by the simulated gateway',
      unit: 'POSTs',
      value: ours.throttled,
      baseline: { name: BASE, value: base.throttled },
    }),
  ]
  const notes = [
    `${WORKERS} worker processes (apps/worker/src/main.ts) on one target with submitRate ${R} per ${W} ms; ${N} imports. Arrival times are the simulator's request log (every POST received, 429s included). Max in window = the most arrivals in any half-open window [t, t + W) over all t. Achieved rate = POSTs x W / (last - first + W), per window: a limiter that lets exactly R through at 0, W, 2W ... scores R.`,
    `Baseline: ${WORKERS} processes, each a bare BullMQ Worker (concurrency 10) with limiter { max: ${R}, duration: ${W} }, doing the same POSTs through @ims-importer/ims-client to a second simulator with the same gateway limit (${R} per ${W} ms sliding): BullMQ counts fixed windows that start at the first job, so bursts at a window's end and the next one's start pass up to 2R through a sliding window, and the gateway answers 429.`,
    `A worker runtime that reports its quick-import POSTs to the gate (createImsClients(targets, metrics, gate)) has each slot stamped at its POST's answer (after IMS counted it), which holds the limit whatever the delays, with a margin of max(5 ms, 0.5% of W) = ${Math.max(5, Math.ceil(W * 0.005))} ms: the rate is then about W / (W + margin + answer time + wake-up), and the margin paragraph below applies only without that report (docs/submit-gate.md, "Stamped at the answer").`,
    `Our gate adds a safety margin to each window (the POST is counted by IMS at arrival, not at admission; the margin covers the jitter of admission -> arrival between POSTs one window apart): at least max(50 ms, 5% of W) = ${MARGIN_FLOOR} ms, widened to 3x the gate's largest Redis round trip of the last one to two periods of W + ${MARGIN_CEILING} ms, at most max(100 ms, 10% of W) = ${MARGIN_CEILING} ms, and the ceiling during a target's first such period. So its best achievable rate is about W / (W + floor) = ${(W / (W + MARGIN_FLOOR)).toFixed(3)} of R; a busy host (slow round trips) widens the margin and lowers the rate. A reply later than a third of the margin is re-stamped (same slot, newer Redis time), not wasted.`,
    `Load-sensitive: the floor is sized from measurements of this scenario on a 2-core host at load 2-3.5 (POST arrival minus admission stamp, rank-matched: the margin needed, largest delay of a POST minus that of the POST one window later, was 14-25 ms, 30 ms once in the first second; the worker's e2e test once needed 49 ms or more at load 4.4, which is why the floor stays at 50 ms and the rate near W / (W + 50 ms)). A stall of the simulator's process (or of a worker between admission and the socket write) longer than the margin, with no slow gate round trip to widen it, can still put R + 1 arrivals into one window; much higher load than that needs SUBMIT_GATE_MARGIN_MS.`,
  ]
  if (ours.maxInWindow > R)
    notes.push(
      `Limit exceeded as IMS saw it: ${ours.maxInWindow} POSTs in one ${W} ms window, arriving at +${ours.densest.join(', +')} ms. The gate admits a window's R at once (a sliding-window log allows the burst) and the next R one window + margin later; when POSTs of one burst reach IMS later after their admission than their partners one window later by more than the margin (${MARGIN_FLOOR}-${MARGIN_CEILING} ms; event loops and the simulator's host process waiting for a CPU on this loaded machine), two bursts overlap in one window. Each 429 then pauses the target's submit queue (THROTTLE_BACKOFF_MS, 5 s), which is what lowers the achieved rate.`,
    )
  const ratio = ours.achievedPerWindow / R
  if (ratio < 0.95)
    notes.push(
      `Target achieved/R >= 0.95 missed: ${ratio.toFixed(5)}, short by ${(0.95 - ratio).toFixed(5)}: without the POSTs' report the gate's margin floor alone caps it near ${(W / (W + MARGIN_FLOOR)).toFixed(3)}; with it, the answer time; the rest is the margin widening after slow Redis round trips (up to ${MARGIN_CEILING} ms) and time between a slot freeing and the next admission (timer and Redis latency on a busy machine).`,
    )
  return {
    id: 'limit-precision',
    title: `3. Limit precision: ${WORKERS} worker processes, one target, R = ${R} per ${W} ms`,
    durationS: (Date.now() - started) / 1000,
    figures,
    tables: [],
    params: { R, windowMs: W, N, workers: WORKERS, ours, baseline: base },
    notes,
  }
}

export const limitPrecisionScenario: Scenario = { id: 'limit-precision', title: 'Limit precision', run }

await runIfMain(import.meta, limitPrecisionScenario)
