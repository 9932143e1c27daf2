import { join } from 'node:path'
import {
  createImportStore,
  createRedis,
  type ImportRecord,
  isFinal,
  keys,
  PollSchedule,
  TargetConfig,
} from '@ims-importer/core'
import { obsSeedFor, simTargetConfig, type TsProcess } from '@ims-importer/testkit'
import { type SimulatorOptions, startSimulator } from 'ims-simulator'
import { quickImportBody } from '../lib/bodies.js'
import { writeSvg } from '../lib/chart.js'
import { type BenchContext, sleep } from '../lib/context.js'
import {
  bestWithin,
  type DurationLaw,
  lowestMedianError,
  quantileAfter,
  truncatedLognormal,
} from '../lib/duration-law.js'
import { type JobTimes, jobTimes } from '../lib/ims-jobs.js'
import {
  idleShare,
  listScheduleMs,
  type PlaceSpan,
  placeTimeline,
  postsOverLimit,
} from '../lib/place-time.js'
import { privateRedis } from '../lib/redis.js'
import { type Figure, figure, type ScenarioResult, type Table } from '../lib/result.js'
import { runIfMain, type Scenario } from '../lib/scenario.js'
import { maxInSlidingWindow, mean, percentile, seededRandom, sum } from '../lib/stats.js'
import { createImports } from '../lib/store-seed.js'
import { runTerraformPeer, simImsClient } from '../lib/terraform-peer.js'
import { startWorkerProcess } from '../lib/workers.js'

// The production shape of issue 15: the shipped default poll policy, jobs of 5-60 min with a
// long tail, the in-flight cap of 40, a submit limit that does not bind; time compressed by ONE
// factor (every time of the target, the simulator and the peer divided by it, rates multiplied).

/** One simulated ms stands for SCALE real ms. BENCH_CAPACITY_SCALE overrides (printed). */
const DEFAULT_SCALE = 120
const DEFAULT_N = 1000
/** The peer waits for each import in each lane: 150 imports take it ~2 min at SCALE 120. */
const DEFAULT_PEER_N = 150
const C = 40
/** Submit limit R per W ms, not compressed: 40 POSTs at once fit, later ones come ~5 per second. */
const R = 50
const W = 1000
const MIN = 60_000
/** IMS's RUNNING time (real ms): lognormal, median 12 min, 99th percentile of the law at 60 min. */
const JOB = { min: 5 * MIN, max: 60 * MIN, median: 12 * MIN }
/** IMS's INIT before RUNNING (real ms). */
const INIT_MS = 10_000
const GIB = 2 ** 30
const MIB = 2 ** 20
/**
 * The run where the duration follows the file size (real units): IMS converts at a throughput,
 * plus a setup that varies from job to job (the random part, drawn by the simulator and unknown
 * to the worker). Files are drawn long-tailed (lognormal, truncated) so that jobs span 5-60 min
 * with a median of about 12 min as in the other runs; every file fits min_disk 100 (the bodies').
 * File: 7-88 GiB, median 16 GiB = 4-50 min at 30 MiB/s (median 9.1 min); setup 1-10 min,
 * median 3 min, lognormal (a tail: IMS's queue and checks are sometimes slow).
 */
const SIZED = {
  bytesPerSecond: 30 * MIB,
  fileBytes: { min: 7 * GIB, max: 88 * GIB, median: 16 * GIB },
  setup: { min: 1 * MIN, max: 10 * MIN, median: 3 * MIN },
}
/** The expected-finish target: within this share of the remaining time (median). */
const ETA_TOLERANCE = 0.1
/** How often the running records' expected_finish is read (real ms). */
const SAMPLE_EVERY_MS = 30_000
/** Terraform: parallelism 10, first poll after 10 s, then every 10 s (real ms). */
const PEER_PARALLELISM = 10
const PEER_POLL_MS = 10_000
const SEED = 15
const TARGET = 'sim'
const SHIPPED_POLL = PollSchedule.parse({})
const SHIPPED_LIMITS = TargetConfig.shape.limits.parse(undefined)

type Planner = 'adaptive' | 'fixed'
/** IMS reports progress; reports none; reports none and the duration follows the file size (SIZED). */
type Mode = 'progress' | 'no progress' | 'sized'
const MODE_LABEL: Record<Mode, string> = {
  progress: 'progress',
  'no progress': 'no progress',
  sized: 'no progress, duration follows file size',
}

interface Params {
  scale: number
  n: number
  peerN: number
}

const scaled = (p: Params, realMs: number) => Math.max(1, Math.round(realMs / p.scale))

const scaledLaw = (p: Params, law: { min: number; max: number; median: number }) => ({
  min: scaled(p, law.min),
  max: scaled(p, law.max),
  median: scaled(p, law.median),
})

/** The n bench bodies' files with their drawn sizes (bytes), for the sized run (seeded: the same in every run). */
function sizedFiles(n: number): Map<string, number> {
  const law = truncatedLognormal(SIZED.fileBytes)
  const random = seededRandom(SEED)
  return new Map(
    Array.from({ length: n }, (_, i) => [
      quickImportBody(i).image_url as string,
      Math.round(law.quantile(random())),
    ]),
  )
}

/**
 * The simulator of a run. Sized: its OBS holds the files (judged by its jobs as IMS does), and a
 * job's RUNNING time is the drawn setup plus size / throughput (the throughput times the scale).
 */
function simOptions(p: Params, mode: Mode): SimulatorOptions {
  const options: SimulatorOptions = {
    seed: SEED,
    initMs: scaled(p, INIT_MS),
    jobDurationMs: { ...scaledLaw(p, mode === 'sized' ? SIZED.setup : JOB), distribution: 'lognormal' },
    reportProgress: mode === 'progress',
    maxConcurrentImports: C,
    imageQuota: 1_000_000,
    rateLimits: { quickImport: { limit: R, windowMs: W } },
  }
  if (mode !== 'sized') return options
  const sizes = sizedFiles(p.n)
  return {
    ...options,
    obs: obsSeedFor([...sizes.keys()], (file) => sizes.get(file) as number),
    obsJudging: true,
    importBytesPerSecond: SIZED.bytesPerSecond * p.scale,
  }
}

/**
 * The shipped target policy with every time divided by the scale (and the poll rate multiplied);
 * with `obs`, the simulator's OBS and the worker's pre-flight (which reads each file's size).
 */
function compressedTarget(p: Params, simUrl: string, planner: Planner, obs = false): TargetConfig {
  const base = simTargetConfig(simUrl, TARGET, {
    submitRate: R,
    submitWindowMs: W,
    pollRate: SHIPPED_LIMITS.pollRate * p.scale,
    maxInFlight: C,
    ...(obs ? { obs: {} } : {}),
  })
  return TargetConfig.parse({
    ...base,
    poll: {
      ...SHIPPED_POLL,
      initialDelayMs: scaled(p, SHIPPED_POLL.initialDelayMs),
      maxDelayMs: scaled(p, SHIPPED_POLL.maxDelayMs),
      planner,
    },
    lostJobGraceMs: scaled(p, base.lostJobGraceMs),
    deadlineMs: scaled(p, base.deadlineMs),
  })
}

/** What one run measured; times in ms. */
interface RunOutcome {
  label: string
  n: number
  places: number
  makespanMs: number
  /** List scheduling of the drawn durations, in IMS's start order, zero detection latency. */
  lbMs: number
  /** max(sum(d)/places, d_max): no order does better. */
  capBoundMs: number
  dMeanMs: number
  dMedianMs: number
  /** Shortest and longest IMS duration (ms). */
  dRangeMs: [number, number]
  getJobs: number
  pollsPerImport: number
  detectMeanMs: number
  detectMeanPct: number
  detectP99Pct: number
  idleShare: number
  etaMedianPct: number | null
  etaSamples: number
  /** Without progress: the same error of the best estimate that knows the law IMS draws from (etaFloor). */
  etaFloor?: EtaFloor
  /** Imports whose record holds the file size the pre-flight read from OBS. */
  filesRead?: number
  posts: number
  maxPostsInWindow: number
  postsOverLimit: number
  throttled: number
  failed: number
  firstPostAt: number
  spans: PlaceSpan[]
  workerCpuS?: number
}

interface Sample {
  at: number
  expectedAt: number
}

/** One sample an expected-finish error is read from: the import, the sample, and its IMS job. */
interface Checkpoint extends Sample {
  id: string
  job: JobTimes
}

/**
 * For each import, at 20%, 30% ... 90% of its IMS duration, the first sample taken from that
 * moment on (while still running).
 */
function checkpoints(samples: Map<string, Sample[]>, jobOf: Map<string, JobTimes>): Checkpoint[] {
  const out: Checkpoint[] = []
  for (const [id, list] of samples) {
    const job = jobOf.get(id)
    if (!job) continue
    const d = job.endMs - job.beginMs
    for (let k = 2; k <= 9; k++) {
      const at = job.beginMs + (k / 10) * d
      const s = list.find((x) => x.at >= at && x.at < job.endMs)
      if (s) out.push({ ...s, id, job })
    }
  }
  return out
}

/**
 * Expected-finish error at the checkpoints: |expected end - actual end| / the time that was
 * left, median over all of them, in %. `expectedAt` replaces the samples' own expectation.
 */
function etaError(
  points: readonly Checkpoint[],
  expectedAt: (c: Checkpoint) => number = (c) => c.expectedAt,
): { pct: number | null; n: number } {
  const errors = points.map((c) => Math.abs(expectedAt(c) - c.job.endMs) / (c.job.endMs - c.at))
  return { pct: errors.length > 0 ? percentile(errors, 50) * 100 : null, n: errors.length }
}

/** The law IMS draws an import's duration from: begin + `shiftMs` + X, X of `law` (compressed ms). */
interface TrueLaw {
  shiftMs: number
  law: DurationLaw
}

interface EtaFloor {
  /** etaError of the median of the true law given the time elapsed (%). */
  pct: number | null
  /** The lowest median error any estimator knowing the law can expect on these checkpoints (%). */
  lowestPct: number
  /** The most any estimator knowing the law can expect within ETA_TOLERANCE: mean over the checkpoints (%). */
  bestWithinPct: number
}

/**
 * The best expected finish without progress, on a run's own checkpoints: knowing the law each
 * import's duration is drawn from, predict begin + shift + the median of X given X > elapsed -
 * shift. That median minimises the absolute error, not this relative one, so it is the natural
 * estimate rather than a bound; lowestMedianError and bestWithin bound every estimator that
 * knows the law (docs/poll-planner.md, "How good can it be without progress").
 */
function etaFloor(points: readonly Checkpoint[], lawOf: (id: string) => TrueLaw): EtaFloor {
  const known = points.map((c) => ({
    c,
    law: lawOf(c.id).law,
    e: c.at - c.job.beginMs - lawOf(c.id).shiftMs,
  }))
  const floorAt = new Map(known.map((k) => [k.c, k.c.at - k.e + quantileAfter(k.law, k.e, 0.5)]))
  return {
    pct: etaError(points, (c) => floorAt.get(c) as number).pct,
    lowestPct: 100 * lowestMedianError(known),
    bestWithinPct: 100 * mean(known.map((k) => bestWithin(k.law, k.e, ETA_TOLERANCE))),
  }
}

/** Figures both our runs and the peer report alike, from IMS's own job times. */
function outcome(input: {
  label: string
  n: number
  places: number
  held: { jobId: string; takenAt: number; freedAt: number }[]
  times: Map<string, JobTimes>
  getJobs: number
  posts: { at: number; status: number }[]
  failed: number
  eta: { pct: number | null; n: number }
}): RunOutcome {
  const spans: PlaceSpan[] = []
  const durations: { beginMs: number; d: number }[] = []
  const detectMs: number[] = []
  const detectPct: number[] = []
  for (const h of input.held) {
    const t = input.times.get(h.jobId)
    if (!t) continue
    const d = t.endMs - t.beginMs
    durations.push({ beginMs: t.beginMs, d })
    detectMs.push(h.freedAt - t.endMs)
    detectPct.push(((h.freedAt - t.endMs) / d) * 100)
    spans.push({ takenAt: h.takenAt, imsEndAt: t.endMs, freedAt: h.freedAt })
  }
  const ordered = durations.sort((a, b) => a.beginMs - b.beginMs).map((x) => x.d)
  const accepted = input.posts.filter((x) => x.status === 200).map((x) => x.at)
  const firstPostAt = Math.min(...input.posts.map((x) => x.at))
  return {
    label: input.label,
    n: input.n,
    places: input.places,
    makespanMs: Math.max(...input.held.map((h) => h.freedAt)) - firstPostAt,
    lbMs: listScheduleMs(ordered, input.places),
    capBoundMs: Math.max(sum(ordered) / input.places, Math.max(...ordered)),
    dMeanMs: mean(ordered),
    dMedianMs: percentile(ordered, 50),
    dRangeMs: [Math.min(...ordered), Math.max(...ordered)],
    getJobs: input.getJobs,
    pollsPerImport: input.getJobs / input.n,
    detectMeanMs: mean(detectMs),
    detectMeanPct: mean(detectPct),
    detectP99Pct: percentile(detectPct, 99),
    idleShare: idleShare(spans),
    etaMedianPct: input.eta.pct,
    etaSamples: input.eta.n,
    posts: input.posts.length,
    maxPostsInWindow: maxInSlidingWindow(
      input.posts.map((x) => x.at),
      W,
    ),
    postsOverLimit: postsOverLimit(accepted, R, W),
    throttled: input.posts.filter((x) => x.status === 429).length,
    failed: input.failed,
    firstPostAt,
    spans,
  }
}

/** What IMS drew each import's duration from, by import id (the floor's knowledge). */
function trueLaws(p: Params, mode: Mode, records: readonly ImportRecord[]): (id: string) => TrueLaw {
  const initMs = scaled(p, INIT_MS)
  if (mode !== 'sized') {
    const law = { shiftMs: initMs, law: truncatedLognormal(scaledLaw(p, JOB)) }
    return () => law
  }
  const setup = truncatedLognormal(scaledLaw(p, SIZED.setup))
  const sizes = sizedFiles(p.n)
  const bytesPerMs = (SIZED.bytesPerSecond * p.scale) / 1000
  const byId = new Map(
    records.map((r) => {
      const bytes = sizes.get(String(r.request.image_url)) ?? Number.NaN
      return [r.id, { shiftMs: initMs + Math.round(bytes / bytesPerMs), law: setup }]
    }),
  )
  return (id) => byId.get(id) as TrueLaw
}

async function runOurs(ctx: BenchContext, p: Params, planner: Planner, mode: Mode): Promise<RunOutcome> {
  const label = `${planner}, ${MODE_LABEL[mode]}`
  const redis = await privateRedis()
  const sim = await startSimulator(simOptions(p, mode))
  const conn = createRedis(redis.url)
  const store = createImportStore(conn)
  let worker: TsProcess | undefined
  try {
    worker = await startWorkerProcess(ctx, {
      name: `worker-${planner}`,
      redisUrl: redis.url,
      targets: [compressedTarget(p, sim.url, planner, mode === 'sized')],
      // A full cap pauses the submit queue this long (1 s real default), compressed like the rest.
      env: { INFLIGHT_WAIT_MS: String(scaled(p, 1000)) },
    })
    const cpu0 = worker.cpuSeconds()
    sim.control.reset()
    const ids = await createImports(conn, TARGET, p.n)
    ctx.progress(`${label}: ${p.n} imports queued`)
    // Generous: the fixed schedule's makespan is ~1.2x the bound; a stuck run fails here.
    const deadline = Date.now() + (p.n * 15 * MIN * 3) / C / p.scale + 60_000
    const samples = new Map<string, Sample[]>()
    let lastReport = Date.now()
    let nextSample = 0
    for (;;) {
      const done =
        (await conn.zcard(keys.statusImports('succeeded'))) + (await conn.zcard(keys.statusImports('failed')))
      if (done >= p.n) break
      if (Date.now() > deadline)
        throw new Error(`${label}: only ${done}/${p.n} final in time\n${worker.output()}`)
      if (Date.now() >= nextSample) {
        nextSample = Date.now() + scaled(p, SAMPLE_EVERY_MS)
        const running = await conn.zrange(keys.inflight(TARGET), 0, -1)
        const at = Date.now()
        for (const r of running.length > 0 ? await store.getMany(running) : []) {
          const expected = r?.expected_finish?.at
          if (!r || !expected || isFinal(r.status)) continue
          const list = samples.get(r.id) ?? []
          list.push({ at, expectedAt: Date.parse(expected) })
          samples.set(r.id, list)
        }
      }
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now()
        ctx.progress(`${label}: ${done}/${p.n} final`)
      }
      await sleep(Math.min(20, scaled(p, SAMPLE_EVERY_MS)))
    }
    const workerCpuS = worker.cpuSeconds() - cpu0
    const getJobs = sim.control.counters().requests.getJob ?? 0
    const posts = sim.control.requestLog('quickImport')
    const records: ImportRecord[] = []
    for (let i = 0; i < ids.length; i += 500)
      for (const r of await store.getMany(ids.slice(i, i + 500))) if (r && isFinal(r.status)) records.push(r)
    const client = simImsClient(sim.url)
    const times = await jobTimes(
      client,
      records.map((r) => r.ims.job_id).filter((x): x is string => x !== null),
    )
    await client.close()
    const byImport = new Map<string, JobTimes>()
    const held: { jobId: string; takenAt: number; freedAt: number }[] = []
    for (const r of records) {
      const taken = r.history.find((h) => h.status === 'submitting')
      const t = r.ims.job_id ? times.get(r.ims.job_id) : undefined
      if (t) byImport.set(r.id, t)
      // A place is taken just before the record turns `submitting`, freed when it is recorded final.
      if (r.ims.job_id && taken && r.finished_at)
        held.push({ jobId: r.ims.job_id, takenAt: Date.parse(taken.at), freedAt: Date.parse(r.finished_at) })
    }
    const points = checkpoints(samples, byImport)
    const out = outcome({
      label,
      n: p.n,
      places: C,
      held,
      times,
      getJobs,
      posts,
      failed: records.filter((r) => r.status !== 'succeeded').length,
      eta: etaError(points),
    })
    const floor = mode === 'progress' ? undefined : etaFloor(points, trueLaws(p, mode, records))
    ctx.progress(
      `${label}: makespan ${(out.makespanMs / 1000).toFixed(1)} s, bound ${(out.lbMs / 1000).toFixed(1)} s (x${(out.makespanMs / out.lbMs).toFixed(3)}), ${out.pollsPerImport.toFixed(1)} polls/import, detection ${out.detectMeanPct.toFixed(2)}%, ETA error ${out.etaMedianPct?.toFixed(1)}%${floor ? ` (knowing the law: ${floor.pct?.toFixed(1)}%; no estimator below ${floor.lowestPct.toFixed(1)}%, nor more than ${floor.bestWithinPct.toFixed(1)}% of estimates within ${ETA_TOLERANCE * 100}%)` : ''}`,
    )
    return {
      ...out,
      workerCpuS,
      ...(floor ? { etaFloor: floor } : {}),
      filesRead: records.filter((r) => r.file?.size_bytes !== undefined).length,
    }
  } finally {
    await worker?.stop()
    conn.disconnect()
    await sim.close()
    await redis.stop()
  }
}

async function runPeer(ctx: BenchContext, p: Params): Promise<RunOutcome> {
  const sim = await startSimulator(simOptions(p, 'progress'))
  const client = simImsClient(sim.url)
  try {
    await client.listImages({ limit: 1 })
    sim.control.reset()
    const seen = await runTerraformPeer(ctx, client, {
      count: p.peerN,
      parallelism: PEER_PARALLELISM,
      pollMs: scaled(p, PEER_POLL_MS),
      backoffUnitMs: scaled(p, MIN),
    })
    const getJobs = sim.control.counters().requests.getJob ?? 0
    const posts = sim.control.requestLog('quickImport')
    const times = await jobTimes(
      client,
      seen.map((s) => s.jobId),
    )
    const out = outcome({
      label: `Terraform-style peer (${p.peerN} imports)`,
      n: p.peerN,
      places: PEER_PARALLELISM,
      held: seen.map((s) => ({ jobId: s.jobId, takenAt: s.postedAt, freedAt: s.seenAt })),
      times,
      getJobs,
      posts,
      failed: seen.filter((s) => s.failed).length,
      eta: { pct: null, n: 0 },
    })
    ctx.progress(
      `peer: ${out.pollsPerImport.toFixed(1)} polls/import, detection ${out.detectMeanPct.toFixed(2)}%`,
    )
    return out
  } finally {
    await client.close()
    await sim.close()
  }
}

function envInt(ctx: BenchContext, name: string, fallback: number): number {
  const raw = ctx.env[name]
  if (raw === undefined || raw === '') return fallback
  const v = Number(raw)
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`)
  return v
}

async function writeChart(path: string, p: Params, runs: RunOutcome[]): Promise<void> {
  const values: { run: string; minute: number; places: number; held: string }[] = []
  for (const r of runs) {
    const to = r.firstPostAt + r.makespanMs
    let last = ''
    const points = placeTimeline(r.spans, r.firstPostAt, to, 240)
    for (const [i, pt] of points.entries()) {
      // A step chart needs a point only where the counts change (and the last one).
      const key = `${pt.running}/${pt.idle}`
      if (key === last && i < points.length - 1) continue
      last = key
      const minute = Math.round(((pt.at - r.firstPostAt) * p.scale) / (MIN / 100)) / 100
      values.push({ run: r.label, minute, places: pt.running, held: 'by a running IMS job' })
      values.push({ run: r.label, minute, places: pt.idle, held: 'after IMS finished, not yet seen' })
    }
  }
  await writeSvg(path, {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `In-flight places over time: ${p.n} imports, cap ${C}, shipped poll policy`,
      subtitle: `jobs of 5-60 min (lognormal, median 12 min; sized: setup + file size / throughput), time compressed ${p.scale}x; minutes are real-world minutes`,
    },
    data: { values },
    facet: { row: { field: 'run', type: 'nominal', title: null, sort: runs.map((r) => r.label) } },
    spec: {
      width: 720,
      height: 110,
      mark: { type: 'area', interpolate: 'step-after' },
      encoding: {
        x: { field: 'minute', type: 'quantitative', title: 'minutes since the first POST' },
        y: {
          field: 'places',
          type: 'quantitative',
          stack: 'zero',
          title: 'places',
          scale: { domain: [0, C] },
        },
        color: {
          field: 'held',
          type: 'nominal',
          title: 'place held',
          legend: { orient: 'top', labelLimit: 400 },
          scale: {
            domain: ['by a running IMS job', 'after IMS finished, not yet seen'],
            range: ['#4c78a8', '#e45756'],
          },
        },
      },
    },
    resolve: { scale: { x: 'independent' } },
  })
}

const pct = (x: number) => `${x.toFixed(2)}%`

async function run(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now()
  const p: Params = {
    scale: envInt(ctx, 'BENCH_CAPACITY_SCALE', DEFAULT_SCALE),
    n: envInt(ctx, 'BENCH_CAPACITY_N', DEFAULT_N),
    peerN: envInt(ctx, 'BENCH_CAPACITY_PEER_N', DEFAULT_PEER_N),
  }
  ctx.progress(`time compressed ${p.scale}x; ${p.n} imports per run of ours, ${p.peerN} for the peer`)
  const runs: Record<string, RunOutcome> = {}
  // The fixed schedule runs as the control of the first two modes; the sized run is the planner's alone.
  const plan: [Planner, Mode][] = [
    ['adaptive', 'progress'],
    ['fixed', 'progress'],
    ['adaptive', 'no progress'],
    ['fixed', 'no progress'],
    ['adaptive', 'sized'],
  ]
  for (const [planner, mode] of plan) {
    const r = await runOurs(ctx, p, planner, mode)
    runs[r.label] = r
  }
  const peer = await runPeer(ctx, p)
  const ours = (planner: Planner, mode: Mode) => runs[`${planner}, ${MODE_LABEL[mode]}`]

  const chartPath = join(ctx.root, 'bench', 'results', 'capacity.svg')
  await writeChart(chartPath, p, Object.values(runs))

  const figures: Figure[] = []
  const FIXED = 'fixed schedule (30 s, x1.5, 5 min)'
  const FLOOR: Record<Exclude<Mode, 'progress'>, string> = {
    'no progress': 'best possible without progress or size: knows the true law',
    sized: "best possible with the file size: knows it, the throughput and the setup's law",
  }
  for (const m of ['progress', 'no progress', 'sized'] as const) {
    const a = ours('adaptive', m) as RunOutcome
    const f = ours('fixed', m)
    const mode = m === 'progress' ? 'IMS reports progress' : MODE_LABEL[m]
    const fixed = (value: (r: RunOutcome) => number) =>
      f ? { baseline: { name: FIXED, value: value(f) } } : {}
    figures.push(
      figure({
        name: `makespan, ${mode}`,
        unit: 's',
        value: a.makespanMs / 1000,
        baseline: { name: 'lower bound (list scheduling, 0 latency)', value: a.lbMs / 1000 },
        target: { on: 'ratio', op: '<=', value: m === 'progress' ? 1.05 : 1.1 },
      }),
    )
    if (f)
      figures.push(
        figure({
          name: `makespan of the fixed schedule, ${mode}`,
          unit: 's',
          value: f.makespanMs / 1000,
          baseline: { name: 'lower bound (list scheduling, 0 latency)', value: f.lbMs / 1000 },
        }),
      )
    figures.push(
      figure({
        name: `polls per import, ${mode}`,
        unit: 'GETs',
        value: a.pollsPerImport,
        baseline: { name: 'Terraform-style peer (fixed 10 s)', value: peer.pollsPerImport },
        target: { on: 'ratio', op: '<=', value: 0.2 },
      }),
      figure({
        name: `mean detection latency, ${mode}`,
        unit: '% of job',
        value: a.detectMeanPct,
        ...fixed((r) => r.detectMeanPct),
        target: { on: 'value', op: '<=', value: m === 'progress' ? 3 : 8 },
      }),
      figure({
        name: `p99 detection latency, ${mode}`,
        unit: '% of job',
        value: a.detectP99Pct,
        ...fixed((r) => r.detectP99Pct),
      }),
      figure({
        name: `place-time held after IMS finished, ${mode}`,
        unit: '% of held',
        value: a.idleShare * 100,
        ...fixed((r) => r.idleShare * 100),
        headline: true,
      }),
      a.etaMedianPct === null
        ? figure({
            name: `expected-finish median error, ${mode} (no expected_finish on any running record)`,
            unit: '% of remaining',
            value: Number.NaN,
            target: { on: 'value', op: '<=', value: ETA_TOLERANCE * 100 },
          })
        : figure({
            name: `expected-finish median error from 1/5 of the job, ${mode}`,
            unit: '% of remaining',
            value: a.etaMedianPct,
            ...(m !== 'progress' && a.etaFloor?.pct != null
              ? { baseline: { name: FLOOR[m], value: a.etaFloor.pct } }
              : {}),
            target: { on: 'value', op: '<=', value: ETA_TOLERANCE * 100 },
          }),
      figure({
        name: `POSTs over the limit in any sliding ${W} ms window, ${mode}`,
        unit: 'POSTs',
        value: a.postsOverLimit,
        baseline: { name: `fullest window (limit R = ${R})`, value: a.maxPostsInWindow },
        target: { on: 'value', op: '<=', value: 0 },
      }),
    )
  }

  const columns = [
    'run',
    'imports',
    'makespan (s)',
    'lower bound (s)',
    'makespan / bound',
    'polls/import',
    'detection mean (% of job)',
    'detection p99 (% of job)',
    'detection mean (real-world s)',
    'place-time held after IMS end',
    'ETA median error (% of remaining)',
    'ETA error knowing the law (% of remaining)',
    'lowest ETA error any estimator can expect',
    'most estimates within 10% any estimator can expect',
    'fullest POST window',
    'POSTs over R',
    'failed',
  ]
  const row = (r: RunOutcome): (string | number)[] => [
    r.label,
    r.n,
    r.makespanMs / 1000,
    r.lbMs / 1000,
    r.makespanMs / r.lbMs,
    r.pollsPerImport,
    r.detectMeanPct,
    r.detectP99Pct,
    (r.detectMeanMs * p.scale) / 1000,
    pct(r.idleShare * 100),
    r.etaMedianPct === null ? '–' : `${r.etaMedianPct.toFixed(1)}% (${r.etaSamples})`,
    r.etaFloor?.pct != null ? `${r.etaFloor.pct.toFixed(1)}%` : '–',
    r.etaFloor ? `${r.etaFloor.lowestPct.toFixed(1)}%` : '–',
    r.etaFloor ? `${r.etaFloor.bestWithinPct.toFixed(1)}%` : '–',
    r.maxPostsInWindow,
    r.postsOverLimit,
    r.failed,
  ]
  const tables: Table[] = [
    {
      title: `Every run (time compressed ${p.scale}x; ratios are scale-free)`,
      columns,
      rows: [...Object.values(runs), peer].map(row),
    },
  ]
  const a1 = ours('adaptive', 'progress') as RunOutcome
  const sized = ours('adaptive', 'sized') as RunOutcome
  const drawn = [...sizedFiles(p.n).values()].map((b) => b / GIB)
  const realMin = (ms: number) => ((ms * p.scale) / MIN).toFixed(1)
  const notes = [
    `Time compressed ${p.scale}x, one factor for everything: IMS INIT ${INIT_MS / 1000} s and RUNNING 5-60 min (lognormal, median 12 min, truncated) -> ${scaled(p, INIT_MS)} ms and ${scaled(p, JOB.min)}-${scaled(p, JOB.max)} ms (median ${scaled(p, JOB.median)} ms); the target's shipped poll section (${SHIPPED_POLL.initialDelayMs / 1000} s, x${SHIPPED_POLL.factor}, ${SHIPPED_POLL.maxDelayMs / 1000} s, jitter ${SHIPPED_POLL.jitter}; the planner's own times derive from these) -> ${scaled(p, SHIPPED_POLL.initialDelayMs)} ms / ${scaled(p, SHIPPED_POLL.maxDelayMs)} ms; lostJobGraceMs and deadlineMs divided likewise; limits.pollRate ${SHIPPED_LIMITS.pollRate}/s -> ${SHIPPED_LIMITS.pollRate * p.scale}/s; INFLIGHT_WAIT_MS 1000 -> ${scaled(p, 1000)}; the peer's 10 s poll -> ${scaled(p, PEER_POLL_MS)} ms. Other worker settings at their defaults. Mean IMS job here ${((a1.dMeanMs * p.scale) / MIN).toFixed(1)} real-world min.`,
    `Each run of ours: a private Redis, the simulator in the bench process (seed ${SEED}; durations are drawn in POST order, so each run has its own draw and its own bound), one worker process (apps/worker from source) with poll.planner 'adaptive' (the completion-aware planner) or 'fixed' (the schedule of earlier releases), ${p.n} imports created at once as a batch does, cap limits.maxInFlight = ${C} (the simulator also refuses a 41st job). The duration model starts empty in every run (cold start). The 'fixed' schedule reads no progress; it runs in the first two modes as a control.`,
    `Run '${sized.label}': the simulator's OBS holds the ${p.n} bodies' files, their sizes drawn (seed ${SEED}) from a lognormal of median ${SIZED.fileBytes.median / GIB} GiB truncated to ${SIZED.fileBytes.min / GIB}-${SIZED.fileBytes.max / GIB} GiB (${SIZED.fileBytes.max / GIB} GiB its 99th percentile; drawn: ${Math.min(...drawn).toFixed(1)}-${Math.max(...drawn).toFixed(1)} GiB, median ${percentile(drawn, 50).toFixed(1)}); IMS's RUNNING time = size / ${SIZED.bytesPerSecond / MIB} MiB/s (${realMin(scaled(p, (SIZED.fileBytes.min / SIZED.bytesPerSecond) * 1000))}-${realMin(scaled(p, (SIZED.fileBytes.max / SIZED.bytesPerSecond) * 1000))} min; the simulator's importBytesPerSecond, times ${p.scale}) + a setup drawn per job that nothing in the request tells (lognormal, median ${SIZED.setup.median / MIN} min, truncated to ${SIZED.setup.min / MIN}-${SIZED.setup.max / MIN} min, ${SIZED.setup.max / MIN} min its 99th percentile): the honest random part, not tuned to any target. IMS durations drawn: ${realMin(sized.dRangeMs[0])}-${realMin(sized.dRangeMs[1])} min, median ${realMin(sized.dMedianMs)} (real-world). The target has OBS, so the worker's pre-flight (enforce) reads each file's size onto the record (${sized.filesRead ?? 0} of ${p.n} here) and the duration model learns per file size (size bucket, time per byte, duration fitted against size; packages/core/src/duration-model.ts), from a cold start. IMS reports no progress.`,
    `Lower bound: list scheduling of the durations IMS drew (end_time - begin_time, INIT included), in IMS's start order, on ${C} places from the first POST, with zero submit and detection latency. Makespan: first POST as IMS received it to the last import recorded final (finished_at). Run ${a1.label}: bound ${(a1.lbMs / 1000).toFixed(2)} s against max(sum(d)/C, d_max) = ${(a1.capBoundMs / 1000).toFixed(2)} s.`,
    `Detection latency: finished_at (the record turning final) - IMS end_time of its job, per import as % of that job's duration (end_time - begin_time); mean and p99 over imports. Polls per import: GET job requests IMS received / imports. Place-time held after IMS finished: sum over imports of (finished_at - end_time) / sum of (place taken, the record's 'submitting' entry, to finished_at).`,
    `Expected finish: the running records' expected_finish.at read from Redis every ${SAMPLE_EVERY_MS / 1000} real-world s (${scaled(p, SAMPLE_EVERY_MS)} ms); for each import at 20%, 30% ... 90% of its IMS duration, the first sample from then on: |expected_finish.at - end_time| / (end_time - sample time); the median of these (samples counted in the table). Floor, in the runs without progress: on the same checkpoints and with the same formula, the estimate of one who knows the law IMS draws each duration from (no progress: INIT ${scaled(p, INIT_MS)} ms + the truncated lognormal above, same parameters; sized: INIT + size / throughput + the setup's law): begin_time + the median of the duration given that it exceeds the time elapsed (bench/src/lib/duration-law.ts). That median minimises the absolute error, not quite this median of relative errors, hence two bounds on every estimator that knows the law and the time elapsed (and the size): for each checkpoint and a tolerance c, the highest probability that any estimate lands within c of the remaining time (the best window [r / (1 + c), r / (1 - c)] of the law given the time elapsed), averaged over the checkpoints, is the most of its estimates any estimator can expect within c; at c = ${ETA_TOLERANCE * 100}% that is the last column, and the c at which it reaches 50% is the lowest median error it can expect. A 10% target is attainable only where the last column reaches 50%. Both bounds are expectations: a run's own draw moves a realised median by about a point either way, so one estimator can land just below the lowest.`,
    `Submit limit R = ${R} POSTs per ${W} ms at the target and the simulator (not compressed: it does not bind; the first ${C} POSTs go at once, later ones as places free). 'POSTs over R': accepted POSTs that were beyond R in the ${W} ms window ending at them. Achieved rate against the limit: not applicable, the limit does not bind by design here (the limit-precision scenario measures it). 429 answers to POSTs: ${Object.values(
      runs,
    )
      .map((r) => `${r.label} ${r.throttled}`)
      .join(', ')}.`,
    `Peer: the Terraform providers' way (terraform-provider-huaweicloud quick import: first poll after 10 s, then every 10 s; parallelism 10; each lane waits for its import before the next), ${p.peerN} imports (fewer than ours to keep the bench short: its per-import figures do not depend on the count), on a simulator reporting progress (the peer reads none). Its bound uses its 10 lanes as places.`,
    `Worker CPU per run: ${Object.values(runs)
      .map((r) => `${r.label} ${r.workerCpuS?.toFixed(1)} s`)
      .join(
        ', ',
      )}. Chart: bench/results/capacity.svg (places over time per run, held by a running IMS job vs held after IMS finished).`,
  ]
  for (const f of figures)
    if (f.pass === false)
      notes.push(
        `MISS: ${f.name} = ${Number.isNaN(f.value) ? 'no value' : f.value.toFixed(3)}${f.ratio === undefined ? '' : ` (ratio ${f.ratio.toFixed(3)})`} against ${f.target?.on} ${f.target?.op} ${f.target?.value}.`,
      )
  return {
    id: 'capacity',
    title: `6. Capacity: ${p.n} imports of 5-60 min, cap ${C}, shipped poll policy, time compressed ${p.scale}x`,
    durationS: (Date.now() - started) / 1000,
    figures,
    tables,
    params: {
      scale: p.scale,
      imports: p.n,
      peerImports: p.peerN,
      cap: C,
      submitLimit: { R, windowMs: W },
      jobRealMs: { init: INIT_MS, ...JOB, distribution: 'lognormal' },
      sizedRun: {
        ...SIZED,
        note: 'bytes, bytes per second, real ms; each a lognormal truncated to [min, max]',
      },
      poll: compressedTarget(p, 'http://127.0.0.1:1', 'adaptive').poll,
      seed: SEED,
      runs: Object.fromEntries(
        [...Object.values(runs), peer].map((r) => [r.label, { ...r, spans: `${r.spans.length} spans` }]),
      ),
    },
    notes,
  }
}

export const capacityScenario: Scenario = { id: 'capacity', title: 'Capacity (production shape)', run }

await runIfMain(import.meta, capacityScenario)
