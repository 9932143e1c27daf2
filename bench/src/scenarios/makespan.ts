import {
  createImportStore,
  createRedis,
  type ImportRecord,
  isFinal,
  keys,
  SIMULATOR_DEFAULTS,
} from '@ims-importer/core'
import { createImsClient } from '@ims-importer/ims-client'
import { obsSeedFor, SIM_AUTH, simTargetConfig, type TsProcess } from '@ims-importer/testkit'
import { type RunningSimulator, type SimulatorOptions, startSimulator } from 'ims-simulator'
import { quickImportBody } from '../lib/bodies.js'
import { type BenchContext, sleep } from '../lib/context.js'
import { jobTimes } from '../lib/ims-jobs.js'
import { privateRedis } from '../lib/redis.js'
import { type Figure, figure, type ScenarioResult } from '../lib/result.js'
import { runIfMain, type Scenario } from '../lib/scenario.js'
import { maxInSlidingWindow, mean, percentile, sum } from '../lib/stats.js'
import { createImports } from '../lib/store-seed.js'
import { startWorkerProcess } from '../lib/workers.js'

/** One simulated second stands for this many real seconds (jobs of 0.5-1.5 s = 5-15 min). */
const SCALE = 600
const N = 2000
/** Submit limit: R POSTs in any sliding window of W ms. */
const R = 50
const W = 1000

/** What both sides report alike: IMS calls, detection delay (ms) and the POSTs' fullest window. */
function callFigures(
  calls: ReturnType<typeof imsCalls>,
  detect: number[],
  posts: { at: number; status: number }[],
) {
  return {
    callsPerImport: calls.total / N,
    callsByOp: calls.byOp,
    detectMeanMs: mean(detect),
    detectP99Ms: percentile(detect, 99),
    maxPostsInWindow: maxInSlidingWindow(
      posts.map((p) => p.at),
      W,
    ),
    throttled: posts.filter((p) => p.status === 429).length,
  }
}
/** In-flight cap (IMS: about 40 concurrent imports per project). */
const C = 40
const INIT_MS = 100
/** RUNNING time drawn uniformly; a job lasts INIT_MS + this. */
const RUN_MS = { min: 400, max: 1400 }
/** Poll every 100 ms (= every minute at the scale): the schedule's shape cannot wait d_min first. */
const POLL = { initialDelayMs: 100, factor: 1, maxDelayMs: 100, jitter: 0.1 }
/** The Terraform providers: parallelism 10, first poll after 10 s then every 10 s, at the same scale. */
const PEER_PARALLELISM = 10
const PEER_POLL_MS = 10_000 / SCALE
const SEED = 7
const TARGET = 'sim'

/** The files of the N bodies (quickImportBody), for the simulator's OBS when the pre-flight is on. */
const benchFiles = (n = N) => Array.from({ length: n }, (_, i) => quickImportBody(i).image_url as string)

/**
 * With `preflight`, the simulator's OBS holds every body's file (2 to 30 GiB, within min_disk 100)
 * and its jobs judge them as IMS does; job durations are drawn as without (no throughput set).
 */
const simOptions = (preflight = false): SimulatorOptions => ({
  seed: SEED,
  initMs: INIT_MS,
  jobDurationMs: RUN_MS,
  maxConcurrentImports: C,
  imageQuota: 1_000_000,
  rateLimits: { quickImport: { limit: R, windowMs: W } },
  ...(preflight ? { obs: obsSeedFor(benchFiles()), obsJudging: true } : {}),
})

const obsSeedSummary = () => {
  const sizes = obsSeedFor(benchFiles())
    .buckets.flatMap((b) => b.objects ?? [])
    .map((o) => o.size / 2 ** 30)
  return `${Math.min(...sizes).toFixed(0)} to ${Math.max(...sizes).toFixed(0)} GiB each`
}

/** LB = max(floor((N-1)/R) * W + d_min, sum(d)/C, d_max), from the first POST. */
function lowerBound(durationsMs: number[], cap: number, rate: number | null) {
  const dMin = Math.min(...durationsMs)
  const dMax = Math.max(...durationsMs)
  const rateBound = rate === null ? 0 : Math.floor((durationsMs.length - 1) / rate) * W + dMin
  const capBound = sum(durationsMs) / cap
  return {
    lb: Math.max(rateBound, capBound, dMax),
    rateBound,
    capBound,
    dMin,
    dMax,
    dMean: mean(durationsMs),
  }
}

/** IMS and IAM calls (the simulator's OBS requests are the pre-flight's: obsRequests). */
function imsCalls(sim: RunningSimulator): { total: number; byOp: Record<string, number> } {
  const { obs: _obs, ...byOp } = sim.control.counters().requests
  return { total: sum(Object.values(byOp)), byOp }
}

const obsRequests = (sim: RunningSimulator): number => sim.control.counters().requests.obs ?? 0

interface RunOutcome {
  /** Where an in-flight place's time goes (ours only): before the POST, IMS, after the job's end. */
  slot?: {
    prePostMs: number
    imsMs: number
    detectMs: number
    utilisation: number
    /** From the first place taken to the last: share of the C places held, and how long a freed place stayed free. */
    busy: { windowMs: number; utilisation: number; freeMsPerRelease: number }
  }
  makespanMs: number
  lb: ReturnType<typeof lowerBound>
  callsPerImport: number
  callsByOp: Record<string, number>
  detectMeanMs: number
  detectP99Ms: number
  maxPostsInWindow: number
  throttled: number
  failed: number
  firstPostDelayMs: number | null
}

interface OursOutcome extends RunOutcome {
  workerCpuS: number
  /** The pre-flight's OBS requests over the batch. */
  obsRequests: number
  /** Imports whose record has the file the pre-flight read; imports it failed. */
  filesRead: number
  stoppedByPreflight: number
  /** created_at -> submitted_at of each import (ms): mean, p50, p99. */
  toSubmit: { meanMs: number; p50Ms: number; p99Ms: number }
}

async function runOurs(ctx: BenchContext, preflight = false): Promise<OursOutcome> {
  const label = preflight ? 'ours, pre-flight on' : 'ours'
  const redis = await privateRedis()
  const sim = await startSimulator(simOptions(preflight))
  const conn = createRedis(redis.url)
  let worker: TsProcess | undefined
  try {
    worker = await startWorkerProcess(ctx, {
      name: 'worker',
      redisUrl: redis.url,
      targets: [
        simTargetConfig(sim.url, TARGET, {
          submitRate: R,
          submitWindowMs: W,
          pollRate: 2000,
          maxInFlight: C,
          poll: POLL,
          ...(preflight ? { obs: {} } : {}),
        }),
      ],
      // A full cap pauses the submit queue this long (1 s real default; scaled, at least a few ms).
      env: { INFLIGHT_WAIT_MS: '20' },
    })
    const cpu0 = worker.cpuSeconds()
    sim.control.reset()
    ctx.progress(`${label}: worker up; creating ${N} imports`)
    const t0 = Date.now()
    const ids = await createImports(conn, TARGET, N)
    ctx.progress(`${label}: ${N} imports queued in ${Date.now() - t0} ms; waiting for the batch`)
    const deadline = Date.now() + 240_000
    let lastReport = 0
    for (;;) {
      const done =
        (await conn.zcard(keys.statusImports('succeeded'))) + (await conn.zcard(keys.statusImports('failed')))
      if (done >= N) break
      if (Date.now() > deadline)
        throw new Error(`${label}: only ${done}/${N} final after 240 s\n${worker.output()}`)
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now()
        ctx.progress(`${label}: ${done}/${N} final`)
      }
      await sleep(100)
    }
    const workerCpuS = worker.cpuSeconds() - cpu0
    const calls = imsCalls(sim)
    const posts = sim.control.requestLog('quickImport')
    const store = createImportStore(conn)
    const records: ImportRecord[] = []
    for (let i = 0; i < ids.length; i += 500)
      for (const r of await store.getMany(ids.slice(i, i + 500))) if (r && isFinal(r.status)) records.push(r)
    const client = createImsClient({
      imsEndpoint: sim.url,
      iamEndpoint: `${sim.url}/v3`,
      projectId: SIMULATOR_DEFAULTS.projectId,
      auth: SIM_AUTH,
    })
    const times = await jobTimes(
      client,
      records.map((r) => r.ims.job_id).filter((x): x is string => x !== null),
    )
    await client.close()
    const durations = [...times.values()].map((t) => t.endMs - t.beginMs)
    const firstPost = Math.min(...posts.map((p) => p.at))
    const lastRecorded = Math.max(...records.map((r) => Date.parse(r.finished_at ?? r.updated_at)))
    const detect = records
      .map((r) => {
        const t = r.ims.job_id ? times.get(r.ims.job_id) : undefined
        return t && r.finished_at ? Date.parse(r.finished_at) - t.endMs : null
      })
      .filter((x): x is number => x !== null)
    // An in-flight place is taken just before the record turns `submitting` and given back when
    // it is recorded final: split that time into before the POST, IMS, and detection.
    const pre: number[] = []
    const held: number[] = []
    const spans: [number, number][] = []
    for (const r of records) {
      const t = r.ims.job_id ? times.get(r.ims.job_id) : undefined
      const from = r.history.find((h) => h.status === 'submitting')
      if (!t || !from || !r.finished_at) continue
      pre.push(t.beginMs - Date.parse(from.at))
      held.push(Date.parse(r.finished_at) - Date.parse(from.at))
      spans.push([Date.parse(from.at), Date.parse(r.finished_at)])
    }
    // While imports still waited for a place (from the moment all C places were first taken to
    // the last take), every freed place should be taken again at once: the places' idle time
    // there, per release.
    const events = spans
      .flatMap(([a, b]): [number, number][] => [
        [a, 1],
        [b, -1],
      ])
      .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    const lastTake = Math.max(...spans.map(([a]) => a))
    let inFlight = 0
    let fullAt: number | undefined
    let prevAt = 0
    let heldInWindow = 0
    let releasesInWindow = 0
    for (const [at, delta] of events) {
      if (at > lastTake) break
      if (fullAt !== undefined) heldInWindow += inFlight * (at - prevAt)
      if (fullAt !== undefined && delta < 0) releasesInWindow++
      inFlight += delta
      prevAt = at
      if (fullAt === undefined && inFlight >= C) fullAt = at
    }
    if (fullAt !== undefined) heldInWindow += inFlight * (lastTake - prevAt)
    const busyWindowMs = fullAt === undefined ? 0 : lastTake - fullAt
    return {
      slot: {
        prePostMs: mean(pre),
        imsMs: mean(durations),
        detectMs: mean(detect),
        utilisation: sum(held) / (C * (lastRecorded - firstPost)),
        busy: {
          windowMs: busyWindowMs,
          utilisation: heldInWindow / (C * busyWindowMs),
          freeMsPerRelease: (C * busyWindowMs - heldInWindow) / Math.max(1, releasesInWindow),
        },
      },
      makespanMs: lastRecorded - firstPost,
      lb: lowerBound(durations, C, R),
      ...callFigures(calls, detect, posts),
      failed: records.filter((r) => r.status !== 'succeeded').length,
      firstPostDelayMs: firstPost - t0,
      workerCpuS,
      obsRequests: obsRequests(sim),
      filesRead: records.filter((r) => r.file).length,
      stoppedByPreflight: records.filter((r) => r.error?.source === 'preflight').length,
      toSubmit: spread(
        records
          .filter((r) => r.submitted_at)
          .map((r) => Date.parse(r.submitted_at as string) - Date.parse(r.created_at)),
      ),
    }
  } finally {
    await worker?.stop()
    conn.disconnect()
    await sim.close()
    await redis.stop()
  }
}

const spread = (xs: number[]) => ({ meanMs: mean(xs), p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99) })

/** The mean of `xs` without the lowest and highest `cut` share (stalls on either side). */
function trimmedMean(xs: number[], cut: number): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const k = Math.floor(sorted.length * cut)
  return mean(sorted.slice(k, sorted.length - k))
}

/**
 * Network hops for the latency part, in ms (default 0: everything on the loopback): how late the
 * simulator answers OBS requests (BENCH_OBS_LATENCY_MS) and the quick-import POST
 * (BENCH_IMS_LATENCY_MS), as real OBS and IMS are a round trip away. Only the POST: the bench's
 * short quota refresh (2 x its poll delay) would put an IMS quota read on every import's path, and
 * the OBS read would hide behind it, which it rarely can with a target's usual refresh. For runs
 * on demand; the default figure is the idle one.
 */
const hops = (ctx: BenchContext) => ({
  obsMs: Number(ctx.env.BENCH_OBS_LATENCY_MS) || 0,
  imsMs: Number(ctx.env.BENCH_IMS_LATENCY_MS) || 0,
})
const hopsText = (far: { obsMs: number; imsMs: number }) =>
  far.obsMs > 0 || far.imsMs > 0 ? `, OBS ${far.obsMs} ms and IMS ${far.imsMs} ms away` : ''

/** Imports per target in the one-at-a-time latency run (BENCH_LATENCY_N to take more). */
const LATENCY_N = 100

/**
 * The pre-flight's own latency, without a queue in front of it: one worker, one simulator, two
 * targets on it that differ only in OBS access (pre-flight off / on). Imports go one at a time,
 * alternating targets (after 3 each to warm up); each is created as the API creates it and
 * timed from created_at to submitted_at as the worker writes them. The median is the figure; the
 * notes add each pair's difference (its two imports ran under the same load of a shared machine).
 * The simulator's POST limit is the targets' (1000 per W): under the batch's R = 50 per W, imports
 * one at a time went over it now and then, and the 429 paused that target for seconds. A rare
 * stall of about 5 s remains, on either target alike; the median and the pairs' trimmed mean
 * leave it out.
 */
async function runLatency(ctx: BenchContext, n = LATENCY_N) {
  const far = hops(ctx)
  const redis = await privateRedis()
  const limits = { submitRate: 1000, submitWindowMs: W, pollRate: 2000, maxInFlight: 1000, poll: POLL }
  const sim = await startSimulator({
    ...simOptions(),
    rateLimits: { quickImport: { limit: limits.submitRate, windowMs: W } },
    // An idle target: jobs end within tens of ms, so few run at once, and IMS's cap is as high as
    // the targets'. With the batch's settings (jobs of 0.4-1.4 s, a cap of 40 shared by both
    // targets) the running imports of the pairs before filled the cap now and then: the POST was
    // refused IMG.0194 and its target paused for seconds (the p99 of 5-6 s), a queue in front.
    jobDurationMs: { min: 20, max: 60 },
    maxConcurrentImports: limits.maxInFlight * 2,
    obs: obsSeedFor(benchFiles(1)),
    obsJudging: true,
    ...(far.obsMs > 0 ? { obsLatencyMs: far.obsMs } : {}),
    ...(far.imsMs > 0 ? { faults: { latencyMs: far.imsMs, operations: ['quickImport'] } } : {}),
  })
  const conn = createRedis(redis.url)
  const store = createImportStore(conn)
  let worker: TsProcess | undefined
  try {
    worker = await startWorkerProcess(ctx, {
      name: 'worker-latency',
      redisUrl: redis.url,
      targets: [
        simTargetConfig(sim.url, 'plain', limits),
        simTargetConfig(sim.url, 'checked', { ...limits, obs: {} }),
      ],
      env: { INFLIGHT_WAIT_MS: '20' },
    })
    const submitted = async (id: string): Promise<number> => {
      const deadline = Date.now() + 30_000
      for (;;) {
        const r = await store.get(id)
        if (r?.submitted_at) return Date.parse(r.submitted_at) - Date.parse(r.created_at)
        if (r && isFinal(r.status))
          throw new Error(`latency: ${id} ended ${r.status} unsubmitted (${r.error?.message})`)
        if (Date.now() > deadline)
          throw new Error(`latency: ${id} not submitted in 30 s\n${worker?.output()}`)
        await sleep(2)
      }
    }
    const one = async (target: string) => submitted(((await createImports(conn, target, 1)) as [string])[0])
    for (let i = 0; i < 3; i++) for (const t of ['plain', 'checked']) await one(t)
    const obs0 = obsRequests(sim)
    const plain: number[] = []
    const checked: number[] = []
    // Each pair in turn order (plain first, then checked first): neither target is always the
    // first after the other's submit.
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        plain.push(await one('plain'))
        checked.push(await one('checked'))
      } else {
        checked.push(await one('checked'))
        plain.push(await one('plain'))
      }
    }
    // Each pair's two imports ran next to each other, under the same load of the machine.
    const paired = checked.map((c, i) => c - (plain[i] as number))
    return {
      plain: spread(plain),
      checked: spread(checked),
      paired: { p50Ms: percentile(paired, 50), trimmedMeanMs: trimmedMean(paired, 0.2) },
      obsPerImport: (obsRequests(sim) - obs0) / n,
      n,
      far,
    }
  } finally {
    await worker?.stop()
    conn.disconnect()
    await sim.close()
    await redis.stop()
  }
}

/**
 * The Terraform providers' way, as a loop over the IMS client: PEER_PARALLELISM resources at a
 * time; each POSTs, waits one poll interval, then GETs the job every interval until final.
 * On a 429 it backs off 2^n "minutes" (golangsdk), scaled like everything else.
 */
async function runPeer(ctx: BenchContext): Promise<RunOutcome> {
  const sim = await startSimulator(simOptions())
  const client = createImsClient({
    imsEndpoint: sim.url,
    iamEndpoint: `${sim.url}/v3`,
    projectId: SIMULATOR_DEFAULTS.projectId,
    auth: SIM_AUTH,
  })
  try {
    await client.listImages({ limit: 1 })
    sim.control.reset()
    const seen: { jobId: string; detectedAt: number; failed: boolean }[] = []
    let next = 0
    let lastReport = Date.now()
    const lane = async () => {
      while (next < N) {
        const i = next++
        let jobId: string | undefined
        for (let attempt = 0; jobId === undefined; attempt++) {
          try {
            ;({ jobId } = await client.quickImport(quickImportBody(i)))
          } catch (err) {
            if (attempt >= 5) throw err
            await sleep((60_000 * 2 ** attempt) / SCALE)
          }
        }
        await sleep(PEER_POLL_MS)
        for (;;) {
          const job = await client.getJob(jobId)
          if (job.status === 'SUCCESS' || job.status === 'FAIL') {
            seen.push({ jobId, detectedAt: Date.now(), failed: job.status === 'FAIL' })
            break
          }
          await sleep(PEER_POLL_MS)
        }
        if (Date.now() - lastReport > 30_000) {
          lastReport = Date.now()
          ctx.progress(`peer: ${seen.length}/${N} final`)
        }
      }
    }
    await Promise.all(Array.from({ length: PEER_PARALLELISM }, lane))
    const calls = imsCalls(sim)
    const posts = sim.control.requestLog('quickImport')
    const times = await jobTimes(
      client,
      seen.map((s) => s.jobId),
    )
    const durations = [...times.values()].map((t) => t.endMs - t.beginMs)
    const firstPost = Math.min(...posts.map((p) => p.at))
    const detect = seen.map((s) => s.detectedAt - (times.get(s.jobId)?.endMs ?? s.detectedAt))
    return {
      makespanMs: Math.max(...seen.map((s) => s.detectedAt)) - firstPost,
      lb: lowerBound(durations, PEER_PARALLELISM, null),
      ...callFigures(calls, detect, posts),
      failed: seen.filter((s) => s.failed).length,
      firstPostDelayMs: null,
    }
  } finally {
    await client.close()
    await sim.close()
  }
}

type Latency = Awaited<ReturnType<typeof runLatency>>

/** The one-at-a-time figure: intake -> submit with the pre-flight against without (target +5%). */
const latencyFigure = (latency: Latency) =>
  figure({
    name: 'p50 intake -> submit one at a time, pre-flight on',
    unit: 'ms',
    value: latency.checked.p50Ms,
    baseline: { name: 'pre-flight off (same worker, same run)', value: latency.plain.p50Ms },
    target: { on: 'ratio', op: '<=', value: 1.05 },
  })

const latencyNote = (latency: Latency) =>
  `Pre-flight latency one at a time (no queue in front${hopsText(latency.far)}): one worker with two targets on one simulator that differ only in OBS access, ${latency.n} imports each, alternating (turn order swapped every pair), each created as the API does and timed created_at -> submitted_at (store timestamps, whole ms): without ${latency.plain.meanMs.toFixed(1)} ms mean (p50 ${latency.plain.p50Ms.toFixed(1)}, p99 ${latency.plain.p99Ms.toFixed(0)}), with ${latency.checked.meanMs.toFixed(1)} ms mean (p50 ${latency.checked.p50Ms.toFixed(1)}, p99 ${latency.checked.p99Ms.toFixed(0)}): ${signed(latency.checked.p50Ms - latency.plain.p50Ms)} ms per import at the median. Paired (each import with pre-flight minus the one without next to it, same moment's load; the machine is shared): median ${signed(latency.paired.p50Ms)} ms, 20%-trimmed mean ${signed(latency.paired.trimmedMeanMs)} ms (${signed((latency.paired.trimmedMeanMs / latency.plain.p50Ms) * 100)}% of the p50 without). ${latency.obsPerImport.toFixed(2)} OBS requests per import (one bucket, its facts cached by the worker).`

const latencyProgress = (latency: Latency) =>
  `one at a time${hopsText(latency.far)}: intake->submit p50 ${latency.plain.p50Ms.toFixed(1)} ms without pre-flight, ${latency.checked.p50Ms.toFixed(1)} ms with (means ${latency.plain.meanMs.toFixed(1)}, ${latency.checked.meanMs.toFixed(1)}); paired difference median ${signed(latency.paired.p50Ms)} ms, trimmed mean ${signed(latency.paired.trimmedMeanMs)} ms`

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`

/**
 * BENCH_MAKESPAN_ONLY=latency: only the one-at-a-time pre-flight latency part (about 30 s for 200
 * imports per target), printed with its figure; BENCH_LATENCY_N sets its imports per target
 * (default LATENCY_N), BENCH_OBS_LATENCY_MS and BENCH_IMS_LATENCY_MS its network hops (hops).
 */
async function runLatencyOnly(ctx: BenchContext, n: number): Promise<ScenarioResult> {
  const started = Date.now()
  const latency = await runLatency(ctx, n)
  ctx.progress(latencyProgress(latency))
  return {
    id: 'makespan',
    title: `2. Batch makespan: only the pre-flight latency one at a time (BENCH_MAKESPAN_ONLY=latency), ${n} imports per target${hopsText(latency.far)}`,
    durationS: (Date.now() - started) / 1000,
    figures: [latencyFigure(latency)],
    tables: [],
    params: { latencyN: n, preflightLatency: latency },
    notes: [latencyNote(latency)],
  }
}

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const latencyN = Number(ctx.env.BENCH_LATENCY_N) || LATENCY_N
  const only = ctx.env.BENCH_MAKESPAN_ONLY
  if (only === 'latency') return runLatencyOnly(ctx, latencyN)
  if (only !== undefined && only !== '')
    throw new Error(`BENCH_MAKESPAN_ONLY=${only}: only 'latency' is known`)
  const started = Date.now()
  const ours = await runOurs(ctx)
  const s = (ms: number) => ms / 1000
  ctx.progress(
    `ours: makespan ${s(ours.makespanMs).toFixed(1)} s, bound ${s(ours.lb.lb).toFixed(1)} s, ratio ${(ours.makespanMs / ours.lb.lb).toFixed(3)}`,
  )
  // The same batch with the pre-flight on (issue 17): what it adds to the makespan and per import.
  const checked = await runOurs(ctx, true)
  ctx.progress(
    `ours, pre-flight on: makespan ${s(checked.makespanMs).toFixed(1)} s, ${(checked.obsRequests / N).toFixed(2)} OBS requests per import`,
  )
  const latency = await runLatency(ctx, latencyN)
  ctx.progress(latencyProgress(latency))
  // BENCH_SKIP_PEER=1 (while iterating on the worker): only our run, no peer figures (~205 s saved).
  const skipPeer = ctx.env.BENCH_SKIP_PEER === '1'
  const peer = skipPeer ? undefined : await runPeer(ctx)
  if (peer) ctx.progress(`peer: makespan ${s(peer.makespanMs).toFixed(1)} s`)

  const figures: Figure[] = [
    figure({
      name: `batch makespan (${N} imports)`,
      unit: 's',
      value: s(ours.makespanMs),
      baseline: { name: 'lower bound LB', value: s(ours.lb.lb) },
      target: { on: 'ratio', op: '<=', value: 1.1 },
    }),
  ]
  if (peer)
    figures.push(
      figure({
        name: 'batch makespan against the Terraform-style peer',
        headline: true,
        unit: 's',
        value: s(ours.makespanMs),
        baseline: { name: `peer (parallelism ${PEER_PARALLELISM}, fixed poll)`, value: s(peer.makespanMs) },
      }),
      figure({
        name: 'IMS calls per import',
        headline: true,
        unit: 'calls',
        value: ours.callsPerImport,
        baseline: { name: 'peer', value: peer.callsPerImport },
      }),
      figure({
        name: 'mean delay IMS job end -> recorded',
        headline: true,
        unit: 'ms',
        value: ours.detectMeanMs,
        baseline: { name: 'peer (end -> seen)', value: peer.detectMeanMs },
      }),
      figure({
        name: 'p99 delay IMS job end -> recorded',
        unit: 'ms',
        value: ours.detectP99Ms,
        baseline: { name: 'peer (end -> seen)', value: peer.detectP99Ms },
      }),
    )
  figures.push(
    figure({
      name: 'max quick-import POSTs in any sliding window (W)',
      unit: 'POSTs',
      value: ours.maxPostsInWindow,
      baseline: { name: 'limit R', value: R },
      target: { on: 'value', op: '<=', value: R },
    }),
  )
  figures.push(
    figure({
      name: `batch makespan with pre-flight on (${N} imports)`,
      unit: 's',
      value: s(checked.makespanMs),
      baseline: { name: 'pre-flight off (same run)', value: s(ours.makespanMs) },
    }),
    figure({
      name: 'mean intake -> submit in the batch, pre-flight on',
      unit: 'ms',
      value: checked.toSubmit.meanMs,
      baseline: { name: 'pre-flight off (same run)', value: ours.toSubmit.meanMs },
      target: { on: 'ratio', op: '<=', value: 1.05 },
    }),
    latencyFigure(latency),
    figure({
      name: 'OBS requests per import (pre-flight)',
      unit: 'requests',
      value: checked.obsRequests / N,
      baseline: { name: 'one at a time, one bucket', value: latency.obsPerImport },
    }),
  )
  if (peer)
    figures.push(
      figure({
        name: 'peer makespan against its own lower bound (cap = parallelism 10)',
        unit: 's',
        value: s(peer.makespanMs),
        baseline: { name: 'peer lower bound', value: s(peer.lb.lb) },
      }),
    )
  const notes = [
    `Lower bound, from the first POST: LB = max(floor((N-1)/R) * W + d_min, sum(d_i)/C, d_max), with d_i = end_time - begin_time of each IMS job as the simulator ran it (INIT + RUNNING). The rate term: with at most R POSTs in any window W the last POST cannot come before floor((N-1)/R) * W, and it then runs at least d_min; the cap term: C slots must together absorb sum(d_i). Ours: rate term ${s(ours.lb.rateBound).toFixed(2)} s, cap term ${s(ours.lb.capBound).toFixed(2)} s, d_max ${s(ours.lb.dMax).toFixed(2)} s (d_min ${s(ours.lb.dMin).toFixed(2)} s, mean ${s(ours.lb.dMean).toFixed(3)} s).`,
    `Makespan = last import recorded final (finished_at in the store) - first POST as IMS received it. Enqueue to first POST took ${ours.firstPostDelayMs} ms (not in the makespan). Worker CPU for the whole batch: ${ours.workerCpuS.toFixed(1)} s.`,
    `Clock: one simulated second stands for ${SCALE} s (jobs of ${(INIT_MS + RUN_MS.min) / 1000}-${(INIT_MS + RUN_MS.max) / 1000} s = ${((INIT_MS + RUN_MS.min) * SCALE) / 60_000}-${((INIT_MS + RUN_MS.max) * SCALE) / 60_000} min). Our poll schedule at that scale: ${JSON.stringify(POLL)} (= a poll every minute); INFLIGHT_WAIT_MS=20.`,
    peer
      ? `Peer: the Terraform providers' way (terraform-provider-huaweicloud quick import: Delay 10 s, MinTimeout 10 s; Terraform's default parallelism 10), a loop over @ims-importer/ims-client in the bench process: ${PEER_PARALLELISM} imports at a time, first poll ${PEER_POLL_MS.toFixed(1)} ms after the POST and then every ${PEER_POLL_MS.toFixed(1)} ms (10 s / ${SCALE}). Same simulator settings and seed, so the same job durations in creation order. Its makespan runs from its first POST to the last poll that saw a job final; its own bound uses parallelism ${PEER_PARALLELISM} as the cap (makespan / bound ${(peer.makespanMs / peer.lb.lb).toFixed(3)}).`
      : 'Peer skipped (BENCH_SKIP_PEER=1): no peer figures in this run.',
    peer
      ? `IMS calls by operation, ours: ${JSON.stringify(ours.callsByOp)}; peer: ${JSON.stringify(peer.callsByOp)}. 429 answers to POSTs: ours ${ours.throttled}, peer ${peer.throttled}. Imports not succeeded: ours ${ours.failed}, peer ${peer.failed}.`
      : `IMS calls by operation, ours: ${JSON.stringify(ours.callsByOp)} (${ours.callsPerImport.toFixed(2)} per import). 429 answers to POSTs: ${ours.throttled}. Imports not succeeded: ${ours.failed}. Detection delay (job end -> recorded): mean ${ours.detectMeanMs.toFixed(0)} ms, p99 ${ours.detectP99Ms.toFixed(0)} ms.`,
  ]
  notes.push(
    `Pre-flight (issue 17): the same batch again with the target's OBS on the simulator (pre-flight enforce; the simulator's OBS holds the ${N} files, ${obsSeedSummary()}; its jobs judge them). Makespan ${s(checked.makespanMs).toFixed(1)} s against ${s(ours.makespanMs).toFixed(1)} s without (bound ${s(checked.lb.lb).toFixed(1)} s). created_at -> submitted_at per import: mean ${checked.toSubmit.meanMs.toFixed(0)} ms, p50 ${checked.toSubmit.p50Ms.toFixed(0)}, p99 ${checked.toSubmit.p99Ms.toFixed(0)} with; mean ${ours.toSubmit.meanMs.toFixed(0)}, p50 ${ours.toSubmit.p50Ms.toFixed(0)}, p99 ${ours.toSubmit.p99Ms.toFixed(0)} without (mostly waiting for the rate limit: ${N} imports at ${R}/${W} ms). OBS requests ${checked.obsRequests} (${(checked.obsRequests / N).toFixed(2)} per import); files read onto the record ${checked.filesRead} of ${N}; stopped by the pre-flight ${checked.stoppedByPreflight}; not succeeded ${checked.failed}. IMS calls by operation with pre-flight: ${JSON.stringify(checked.callsByOp)}.`,
    latencyNote(latency),
  )
  const ratio = ours.makespanMs / ours.lb.lb
  const slot = ours.slot
  if (slot)
    notes.push(
      `Where an in-flight place's time goes (ours, mean per import): ${slot.prePostMs.toFixed(0)} ms from taking the place to the POST reaching IMS, ${slot.imsMs.toFixed(0)} ms in IMS, ${slot.detectMs.toFixed(0)} ms from the job's end to the record being final; the ${C} places were held ${(slot.utilisation * 100).toFixed(1)}% of the makespan. The cap term of the bound counts IMS time only, so (pre-POST + detection) / IMS time = ${(((slot.prePostMs + slot.detectMs) / slot.imsMs) * 100).toFixed(1)}% is the overhead a cap-bound batch cannot avoid with this poll schedule, and 1 / utilisation adds the rest.`,
      `From the moment all ${C} places were first taken to the last take (${s(slot.busy.windowMs).toFixed(1)} s, imports waiting for a place throughout), the places were held ${(slot.busy.utilisation * 100).toFixed(2)}% of the time: a freed place stayed free ${slot.busy.freeMsPerRelease.toFixed(1)} ms per release on average (store timestamps, ms resolution). The rest of the idle share is the start (the first ${C} places filling under the rate limit R) and the tail, when fewer than ${C} imports are left.`,
    )
  if (ratio > 1.1)
    notes.push(
      `Target makespan/LB <= 1.10 missed by ${((ratio - 1.1) * 100).toFixed(1)} points (${(((ratio - 1.1) / 1.1) * 100).toFixed(1)}% of the target): the batch is bound by the in-flight cap, and each place stays held through the submit path and the detection delay (above); a denser poll (more GETs per import) or a shorter submit path would close it.`,
    )
  return {
    id: 'makespan',
    title: `2. Batch makespan: ${N} imports, R=${R}/${W} ms, C=${C}, against the lower bound and a Terraform-style peer`,
    durationS: (Date.now() - started) / 1000,
    figures,
    tables: [],
    params: {
      N,
      R,
      windowMs: W,
      C,
      initMs: INIT_MS,
      runMs: RUN_MS,
      scale: SCALE,
      poll: POLL,
      peer: skipPeer
        ? 'skipped (BENCH_SKIP_PEER=1)'
        : { parallelism: PEER_PARALLELISM, pollMs: PEER_POLL_MS },
      seed: SEED,
      ours: { ...ours, lb: ours.lb },
      oursWithPreflight: checked,
      preflightLatency: latency,
      peerRun: peer,
    },
    notes,
  }
}

export const makespanScenario: Scenario = { id: 'makespan', title: 'Batch makespan', run }

await runIfMain(import.meta, makespanScenario)
