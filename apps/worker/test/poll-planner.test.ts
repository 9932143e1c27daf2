import {
  type DurationEstimate,
  estimateFrom,
  expectedBatchFinish,
  PollSchedule,
  type SizeHint,
  sizeBucket,
} from '@ims-importer/core'
import { seededRandom } from '@ims-importer/core/testing'
import { describe, expect, it } from 'vitest'
import {
  admitPoll,
  allocatePolls,
  appendProgress,
  expectedFinish,
  finishChanceBetween,
  type PlanInput,
  type PollPolicy,
  type ProgressObservation,
  planNextPoll,
  resolvePollPolicy,
} from '../src/poll-planner.js'
import { pollDelayMs } from '../src/poll-schedule.js'

// Decisions of the poll planner, without Redis or a clock; then a deterministic simulation of
// 500 imports against the issue's targets (docs/poll-planner.md).

const S = 1000
const MIN = 60 * S
const HOUR = 60 * MIN
const DEFAULT = resolvePollPolicy(PollSchedule.parse({}))

const base = (over: Partial<PlanInput> = {}): PlanInput => ({
  now: 0,
  submittedAt: 0,
  polls: 0,
  progress: [],
  estimate: null,
  demand: true,
  ...over,
})
/** Linear progress of a job of `durationMs`, observed at the given times (ms from submit). */
const linear = (durationMs: number, at: number[]): ProgressObservation[] =>
  at.map((t) => ({ atMs: t, percent: Math.min(99, Math.floor((100 * t) / durationMs)) }))
const estimate = (medianMs: number, p10Ms: number, p90Ms: number, samples = 50): DurationEstimate => ({
  medianMs,
  p10Ms,
  p90Ms,
  samples,
  basis: 'bucket',
})

describe('policy', () => {
  it('keeps the schedule defaults and derives the planner fields from them', () => {
    expect(DEFAULT).toEqual({
      initialDelayMs: 30 * S,
      factor: 1.5,
      maxDelayMs: 5 * MIN,
      jitter: 0.1,
      minDelayMs: 5 * S,
      pollCostBusy: 0.003,
      pollCostIdle: 0.015,
      budgetReserve: 0.25,
    })
    const scaled = resolvePollPolicy(PollSchedule.parse({ initialDelayMs: 500, maxDelayMs: 5000 }))
    expect(scaled.minDelayMs).toBe(83)
    expect(resolvePollPolicy(PollSchedule.parse({ minDelayMs: 2000, pollCostBusy: 0.01 }))).toMatchObject({
      minDelayMs: 2000,
      pollCostBusy: 0.01,
    })
  })
})

describe('planNextPoll', () => {
  it('without progress and without history is the fixed schedule, poll for poll', () => {
    for (let polls = 0; polls < 12; polls++) {
      for (const random of [0, 0.3, 0.99]) {
        const plan = planNextPoll(DEFAULT, base({ polls, now: 7 * MIN, random }))
        expect(plan.delayMs).toBe(pollDelayMs(DEFAULT, polls + 1, () => random))
        expect(plan).toMatchObject({
          reason: 'schedule',
          basis: 'none',
          expectedFinish: null,
          finishChance: null,
        })
      }
    }
    // A percent of 0 (IMS still initialising) is no progress yet.
    expect(planNextPoll(DEFAULT, base({ now: 30 * S, progress: linear(HOUR, [30 * S]) })).reason).toBe(
      'schedule',
    )
  })

  it('from progress: sleeps while the end is far, polls tight near it, and predicts the end', () => {
    const d = 20 * MIN
    const mid = planNextPoll(
      DEFAULT,
      base({ now: 10 * MIN, polls: 3, progress: linear(d, [2 * MIN, 10 * MIN]) }),
    )
    expect(mid.basis).toBe('progress')
    expect(mid.delayMs).toBe(DEFAULT.maxDelayMs)
    expect(mid.expectedFinish?.at).toBeGreaterThan(19 * MIN)
    expect(mid.expectedFinish?.at).toBeLessThan(21 * MIN)
    expect(mid.finishChance).toBeLessThan(0.01)

    const near = planNextPoll(
      DEFAULT,
      base({ now: 19.5 * MIN, polls: 6, progress: linear(d, [2 * MIN, 10 * MIN, 15 * MIN, 19.5 * MIN]) }),
    )
    expect(near.delayMs).toBeLessThanOrEqual(30 * S)
    expect(near.delayMs).toBeGreaterThanOrEqual(DEFAULT.minDelayMs)
    expect(Math.abs((near.expectedFinish?.at ?? 0) - d)).toBeLessThan(30 * S)
  })

  it('from history alone: no poll before the short end of the distribution, then tighter around it', () => {
    const e = estimate(20 * MIN, 15 * MIN, 30 * MIN)
    const first = planNextPoll(DEFAULT, base({ estimate: e }))
    expect(first).toMatchObject({ basis: 'history', delayMs: DEFAULT.maxDelayMs })
    expect(first.expectedFinish?.at).toBe(20 * MIN)
    const at12 = planNextPoll(DEFAULT, base({ now: 12 * MIN, polls: 3, estimate: e }))
    const at19 = planNextPoll(DEFAULT, base({ now: 19 * MIN, polls: 5, estimate: e }))
    expect(at19.delayMs).toBeLessThan(at12.delayMs)
    expect(at19.delayMs).toBeLessThan(MIN)
    // Still running: the expected end moves later than the median.
    expect(at19.expectedFinish?.at).toBeGreaterThan(20 * MIN)
  })

  it('polls tighter while imports wait for a place', () => {
    const e = estimate(20 * MIN, 15 * MIN, 30 * MIN)
    for (const now of [16 * MIN, 20 * MIN, 25 * MIN]) {
      const busy = planNextPoll(DEFAULT, base({ now, estimate: e, demand: true }))
      const idle = planNextPoll(DEFAULT, base({ now, estimate: e, demand: false }))
      expect(busy.delayMs).toBeLessThan(idle.delayMs)
    }
  })

  it('stays within the bounds of the target', () => {
    const policy: PollPolicy = { ...DEFAULT, minDelayMs: 20 * S, maxDelayMs: 2 * MIN }
    const near = planNextPoll(
      policy,
      base({ now: 9.9 * MIN, progress: linear(10 * MIN, [5 * MIN, 9.9 * MIN]) }),
    )
    expect(near).toMatchObject({ delayMs: 20 * S, reason: 'min-bound' })
    const far = planNextPoll(policy, base({ now: 1 * MIN, progress: linear(HOUR, [1 * MIN]) }))
    expect(far).toMatchObject({ delayMs: 2 * MIN, reason: 'max-bound' })
    for (let now = 0; now < 40 * MIN; now += 37 * S) {
      const p = planNextPoll(
        policy,
        base({ now, estimate: estimate(20 * MIN, 15 * MIN, 30 * MIN), random: 0.99 }),
      )
      expect(p.delayMs).toBeGreaterThanOrEqual(20 * S)
      expect(p.delayMs).toBeLessThanOrEqual(2 * MIN)
    }
  })

  it('waits for the window when the poll budget is spent', () => {
    const input = base({ now: 19.5 * MIN, progress: linear(20 * MIN, [10 * MIN, 19.5 * MIN]) })
    const free = planNextPoll(DEFAULT, { ...input, budget: { available: 5, capacity: 20, windowMs: 1000 } })
    expect(free.reason).not.toBe('budget')
    // A window nearly full stretches the spacing before it runs out.
    const scarce = planNextPoll(DEFAULT, { ...input, budget: { available: 1, capacity: 20, windowMs: 1000 } })
    expect(scarce.delayMs).toBeGreaterThan(free.delayMs)
    const policy = { ...DEFAULT, minDelayMs: 100 }
    const spent = planNextPoll(policy, { ...input, budget: { available: 0, capacity: 20, windowMs: MIN } })
    expect(spent.reason).toBe('budget')
    expect(spent.delayMs).toBeGreaterThanOrEqual(MIN)
  })

  it('backs off when progress stalls or the job runs far past its history (no poll storm)', () => {
    // Stuck at 99% since minute 10 of a job that looked like 10 minutes.
    const stalled: number[] = []
    let obs = linear(10 * MIN, [2 * MIN, 5 * MIN, 9.95 * MIN])
    for (let now = 10 * MIN; now < 40 * MIN; ) {
      obs = appendProgress(obs, { atMs: now, percent: 99 })
      const p = planNextPoll(DEFAULT, base({ now, progress: obs }))
      stalled.push(p.delayMs)
      now += p.delayMs
    }
    expect(stalled.length).toBeLessThan(40)
    expect(stalled.at(-1)).toBeGreaterThan(stalled[1] as number)
    // History says 10 min (p90 12); the job is at 2 h: spacing grows with the overrun.
    const e = estimate(10 * MIN, 8 * MIN, 12 * MIN)
    const at1h = planNextPoll(DEFAULT, base({ now: HOUR, estimate: e })).delayMs
    const at2h = planNextPoll(DEFAULT, base({ now: 2 * HOUR, estimate: e })).delayMs
    expect(at1h).toBeGreaterThan(DEFAULT.minDelayMs * 2)
    expect(at2h).toBeGreaterThanOrEqual(at1h)
  })

  it('gives the same decisions with time compressed by one factor', () => {
    const k = 60
    const fast = resolvePollPolicy(
      PollSchedule.parse({ initialDelayMs: (30 * S) / k, maxDelayMs: (5 * MIN) / k }),
    )
    const cases: PlanInput[] = [
      base({ now: 10 * MIN, progress: linear(20 * MIN, [2 * MIN, 10 * MIN]) }),
      base({ now: 19 * MIN, estimate: estimate(20 * MIN, 15 * MIN, 30 * MIN), demand: false }),
      base({ now: 3 * MIN, polls: 4 }),
    ]
    for (const c of cases) {
      const slow = planNextPoll(DEFAULT, c)
      const scaled = planNextPoll(fast, {
        ...c,
        now: c.now / k,
        progress: c.progress.map((o) => ({ ...o, atMs: o.atMs / k })),
        estimate: c.estimate && {
          ...c.estimate,
          medianMs: c.estimate.medianMs / k,
          p10Ms: c.estimate.p10Ms / k,
          p90Ms: c.estimate.p90Ms / k,
        },
      })
      expect(Math.abs(scaled.delayMs * k - slow.delayMs)).toBeLessThanOrEqual(0.07 * slow.delayMs + k)
      if (slow.expectedFinish)
        expect(Math.abs((scaled.expectedFinish?.at ?? 0) * k - slow.expectedFinish.at)).toBeLessThan(k * 2)
    }
  })
})

describe('progress list, expected finish, budget allocation, batches', () => {
  it('keeps the progress list bounded, with its first point and the start of the current run', () => {
    let list: ProgressObservation[] = []
    for (let i = 0; i < 30; i++) list = appendProgress(list, { atMs: i * 1000, percent: Math.min(40, i * 3) })
    expect(list.length).toBeLessThanOrEqual(8)
    expect(list[0]).toEqual({ atMs: 0, percent: 0 })
    // 40% first seen at 14 s; the run keeps its first and newest points.
    expect(list.filter((o) => o.percent === 40)).toEqual([
      { atMs: 14_000, percent: 40 },
      { atMs: 29_000, percent: 40 },
    ])
    expect(appendProgress(list, { atMs: 1000, percent: 50 })).toEqual(list)
  })

  it('answers the expected finish at view time, and the chance a due poll finds the job ended', () => {
    const progress = linear(30 * MIN, [5 * MIN, 15 * MIN])
    const f = expectedFinish({ now: 16 * MIN, submittedAt: 1000, progress, estimate: null })
    expect(f?.basis).toBe('progress')
    expect(Math.abs((f?.at ?? 0) - 30 * MIN)).toBeLessThan(MIN)
    expect(f?.p10At).toBeLessThanOrEqual(f?.at ?? 0)
    expect(f?.p90At).toBeGreaterThanOrEqual(f?.at ?? 0)
    expect(expectedFinish({ now: 0, submittedAt: 0, progress: [], estimate: null })).toBeNull()
    const early = finishChanceBetween({ now: 16 * MIN, submittedAt: 0, progress, estimate: null }, 15 * MIN)
    const late = finishChanceBetween({ now: 32 * MIN, submittedAt: 0, progress, estimate: null }, 15 * MIN)
    expect(early).toBeLessThan(0.01)
    expect(late).toBeGreaterThan(0.9)
  })

  it('spends a scarce budget on the polls most likely to free a place', () => {
    const { poll, defer } = allocatePolls(
      [
        { id: 'a', finishChance: 0.01 },
        { id: 'b', finishChance: 0.9 },
        { id: 'c', finishChance: null },
        { id: 'd', finishChance: 0.6 },
      ],
      2,
    )
    expect(poll).toEqual(['b', 'd'])
    expect(defer).toEqual(['c', 'a'])
    const window = { capacity: 20, windowMs: 1000 }
    expect(admitPoll(DEFAULT, 0.95, { ...window, available: 1 })).toBe(true)
    expect(admitPoll(DEFAULT, 0.01, { ...window, available: 4 })).toBe(false)
    expect(admitPoll(DEFAULT, 0.01, { ...window, available: 7 })).toBe(true)
    expect(admitPoll(DEFAULT, 1, { ...window, available: 0 })).toBe(false)
  })

  it("aggregates a batch's expected finish by list scheduling on its places", () => {
    // Two places free at 10 and 20; three queued imports of 10 each: 10->20, 20->30, 20->30.
    expect(expectedBatchFinish({ now: 0, running: [10, 20], queuedMs: [10, 10, 10], places: 2 })).toEqual({
      at: 30,
      complete: true,
    })
    // A third place is free now.
    expect(expectedBatchFinish({ now: 0, running: [10, 20], queuedMs: [10, 10, 10], places: 3 })).toEqual({
      at: 20,
      complete: true,
    })
    // A running import past its expected end counts as ending now; unknowns make it a lower bound.
    expect(expectedBatchFinish({ now: 50, running: [10, null], queuedMs: [], places: 2 })).toEqual({
      at: 50,
      complete: false,
    })
    expect(expectedBatchFinish({ now: 5, running: [], queuedMs: [], places: 2 })).toEqual({
      at: null,
      complete: true,
    })
  })
})

// --- Simulation ------------------------------------------------------------------------------

const seeded = seededRandom
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())

interface SimJob {
  durationMs: number
  /** min_disk (GB): loosely tied to the duration. */
  gb: number
  /** IMS initialises before progress starts (ms). */
  startMs: number
  /** Progress is (elapsed share)^gamma: 1 is linear, as the simulator reports it. */
  gamma: number
}

/** Durations from 5 to 60 min with a long tail (lognormal, median 12 min, cut at 5 and 60). */
function drawJob(r: () => number, scale: number, nonlinear: boolean): SimJob {
  const d = truncatedDraw(r, 12 * MIN, 0.6, 5 * MIN, 60 * MIN)
  const gb = Math.max(1, Math.round((d / MIN) * 2 * Math.exp(0.25 * gauss(r))))
  const g = r()
  return { durationMs: d * scale, gb, startMs: r() * 20 * S * scale, gamma: nonlinear ? 0.85 + 0.3 * g : 1 }
}
/** A lognormal draw of this median and spread, drawn again outside [min, max] (as the simulator draws). */
function truncatedDraw(r: () => number, median: number, sigma: number, min: number, max: number): number {
  let x = 0
  do x = median * Math.exp(sigma * gauss(r))
  while (x < min || x > max)
  return x
}
const Z99 = 2.3263

/**
 * Durations that follow the file size, as the capacity bench's sized run: a file of 7-88 GiB
 * (median 16) at 30 MiB/s plus a setup of 1-10 min (median 3), both lognormal; `gb` is the file's GiB.
 */
function drawSizedJob(r: () => number, scale: number): SimJob {
  const gib = truncatedDraw(r, 16, Math.log(88 / 16) / Z99, 7, 88)
  const setup = truncatedDraw(r, 3 * MIN, Math.log(10 / 3) / Z99, MIN, 10 * MIN)
  const d = setup + ((gib * 2 ** 30) / (30 * 2 ** 20)) * S
  return { durationMs: d * scale, gb: gib, startMs: r() * 20 * S * scale, gamma: 1 }
}
const percentAt = (j: SimJob, t: number) =>
  t <= j.startMs
    ? 0
    : Math.min(99, Math.floor(100 * ((t - j.startMs) / (j.durationMs - j.startMs)) ** j.gamma))

interface SimMode {
  progress: 'none' | 'linear' | 'nonlinear'
  history: 'none' | 'by-size' | 'no-size'
  demand: boolean
  /** Durations as drawJob (default), or following the file size (drawSizedJob). */
  sized?: boolean
}
interface SimResult {
  /** Mean over imports of detection latency / duration (%). */
  latencyPct: number
  latencyP99Pct: number
  pollsPerImport: number
  fixed10sPolls: number
  /** Median of |expected end - end| / remaining time, once an import has run a fifth of its duration. */
  etaMedianErr: number | null
}

function simulate(mode: SimMode, { scale = 1, jobs = 500, seed = 42 } = {}): SimResult {
  const policy = resolvePollPolicy(
    PollSchedule.parse({ initialDelayMs: 30 * S * scale, maxDelayMs: 5 * MIN * scale }),
  )
  const r = seeded(seed)
  const nonlinear = mode.progress === 'nonlinear'
  const draw = () => (mode.sized ? drawSizedJob(r, scale) : drawJob(r, scale, nonlinear))
  // The model's lists, learnt from 400 earlier imports of the same kind.
  const buckets = new Map<string, number[]>()
  const any: number[] = []
  const perByte: number[] = []
  const sized: { bytes: number; ms: number }[] = []
  for (let i = 0; i < 400; i++) {
    const j = draw()
    const b = sizeBucket({ kind: 'disk-gb', gb: j.gb })
    buckets.set(b, [j.durationMs, ...(buckets.get(b) ?? [])].slice(0, 64))
    any.unshift(j.durationMs)
    perByte.unshift(j.durationMs / (j.gb * 2 ** 30))
    sized.unshift({ bytes: j.gb * 2 ** 30, ms: j.durationMs })
  }
  const estimateOf = (j: SimJob): DurationEstimate | null => {
    if (mode.history === 'none') return null
    const size: SizeHint | null = mode.history === 'by-size' ? { kind: 'disk-gb', gb: j.gb } : null
    const bucket = size ? (buckets.get(sizeBucket(size)) ?? []) : []
    return estimateFrom(
      { bucket, any: any.slice(0, 64), perByte: perByte.slice(0, 64), sized: sized.slice(0, 64) },
      size,
    )
  }

  const shares: number[] = []
  const etaErrors: number[] = []
  let polls = 0
  let fixedPolls = 0
  for (let k = 0; k < jobs; k++) {
    const j = draw()
    const est = estimateOf(j)
    let progress: ProgressObservation[] = []
    const seen: { at: number; progress: ProgressObservation[] }[] = [{ at: 0, progress }]
    let t = 0
    let n = 0
    for (;;) {
      const plan = planNextPoll(policy, {
        now: t,
        submittedAt: 0,
        polls: n,
        progress,
        estimate: est,
        demand: mode.demand,
        random: r(),
      })
      t = plan.pollAt
      n++
      if (t >= j.durationMs) break
      if (mode.progress !== 'none') progress = appendProgress(progress, { atMs: t, percent: percentAt(j, t) })
      seen.push({ at: t, progress })
    }
    // The expected end as a reader would see it at 20%, 30% ... 90% of the duration.
    for (let f = 0.2; f < 0.95; f += 0.1) {
      const at = f * j.durationMs
      const known = seen.filter((s) => s.at <= at).at(-1)
      const e = expectedFinish({ now: at, submittedAt: 0, progress: known?.progress ?? [], estimate: est })
      if (e) etaErrors.push(Math.abs(e.at - j.durationMs) / (j.durationMs - at))
    }
    shares.push((t - j.durationMs) / j.durationMs)
    polls += n
    fixedPolls += Math.ceil(j.durationMs / (10 * S * scale))
  }
  const sorted = [...shares].sort((a, b) => a - b)
  etaErrors.sort((a, b) => a - b)
  return {
    latencyPct: (100 * shares.reduce((a, b) => a + b, 0)) / jobs,
    latencyP99Pct: 100 * (sorted[Math.floor(0.99 * jobs)] as number),
    pollsPerImport: polls / jobs,
    fixed10sPolls: fixedPolls / jobs,
    etaMedianErr: etaErrors.length > 0 ? (etaErrors[Math.floor(etaErrors.length / 2)] as number) : null,
  }
}

const fmt = (name: string, x: SimResult) =>
  `${name.padEnd(44)} latency ${x.latencyPct.toFixed(2).padStart(5)}% (p99 ${x.latencyP99Pct.toFixed(1).padStart(4)}%)` +
  `  polls ${x.pollsPerImport.toFixed(1).padStart(4)} (fixed 10 s: ${x.fixed10sPolls.toFixed(1)}, ratio ${(x.pollsPerImport / x.fixed10sPolls).toFixed(3)})` +
  `  ETA median error ${x.etaMedianErr === null ? '-' : `${(100 * x.etaMedianErr).toFixed(1)}%`}`

describe('simulation: 500 imports of 5 to 60 min (long tail), deterministic seed', () => {
  it('meets the targets with progress, and without progress but with history', () => {
    const rows: [string, SimMode][] = [
      [
        'progress (linear, as the simulator), no history',
        { progress: 'linear', history: 'none', demand: true },
      ],
      ['progress (linear) + history by size', { progress: 'linear', history: 'by-size', demand: true }],
      ['progress (non-linear, x^0.85..x^1.15)', { progress: 'nonlinear', history: 'none', demand: true }],
      ['no progress, history by size', { progress: 'none', history: 'by-size', demand: true }],
      ['no progress, history without size', { progress: 'none', history: 'no-size', demand: true }],
      ['no progress, no history (= fixed schedule)', { progress: 'none', history: 'none', demand: true }],
      ['progress (linear), no demand', { progress: 'linear', history: 'none', demand: false }],
      ['no progress, history by size, no demand', { progress: 'none', history: 'by-size', demand: false }],
      [
        'no progress, size-driven, history by size',
        { progress: 'none', history: 'by-size', demand: true, sized: true },
      ],
      [
        'no progress, size-driven, no size',
        { progress: 'none', history: 'no-size', demand: true, sized: true },
      ],
    ]
    const results = new Map(rows.map(([name, mode]) => [name, simulate(mode)]))
    console.log(`\n${[...results].map(([name, x]) => fmt(name, x)).join('\n')}`)
    const get = (name: string) => results.get(name) as SimResult

    // The issue's targets: detection within 3% of the job with progress, 8% without; polls at
    // most a fifth of the fixed 10 s schedule's.
    const latencyBounds: [string, number][] = [
      ['progress (linear, as the simulator), no history', 3],
      ['progress (linear) + history by size', 3],
      ['progress (non-linear, x^0.85..x^1.15)', 3],
      ['no progress, history by size', 8],
      ['no progress, history without size', 8],
      ['no progress, size-driven, history by size', 8],
    ]
    for (const [name, bound] of latencyBounds) {
      expect(get(name).latencyPct).toBeLessThanOrEqual(bound)
      expect(get(name).pollsPerImport).toBeLessThanOrEqual(get(name).fixed10sPolls / 5)
    }
    // Where the duration follows the file size, the size makes the expected finish much better.
    const sized = get('no progress, size-driven, history by size').etaMedianErr as number
    expect(sized).toBeLessThan(0.5 * (get('no progress, size-driven, no size').etaMedianErr as number))
    // Expected-finish error: median within 10% of the remaining time with the simulator's progress.
    expect(get('progress (linear, as the simulator), no history').etaMedianErr).toBeLessThanOrEqual(0.1)
    expect(get('progress (linear) + history by size').etaMedianErr).toBeLessThanOrEqual(0.1)
    // Without demand the planner spends fewer polls, and stays better than the fixed schedule.
    const fixed = get('no progress, no history (= fixed schedule)')
    const idle = get('no progress, history by size, no demand')
    expect(idle.latencyPct).toBeLessThan(fixed.latencyPct)
    expect(idle.pollsPerImport).toBeLessThanOrEqual(fixed.pollsPerImport * 1.1)
  })

  it('gives the same figures with time compressed 60 times', () => {
    for (const mode of [
      { progress: 'linear', history: 'none', demand: true },
      { progress: 'none', history: 'by-size', demand: true },
    ] as const) {
      const slow = simulate(mode, { jobs: 200 })
      const fast = simulate(mode, { jobs: 200, scale: 1 / 60 })
      expect(Math.abs(fast.latencyPct - slow.latencyPct)).toBeLessThan(0.1 * slow.latencyPct + 0.05)
      expect(Math.abs(fast.pollsPerImport - slow.pollsPerImport)).toBeLessThan(0.05 * slow.pollsPerImport)
    }
  })
})

describe('against the fixed schedule (30 s, x1.5, ceiling 5 min), jobs of 1 min to 2 h', () => {
  /** Follows one job with the planner; returns polls and detection latency. */
  function follow(durationMs: number, withProgress: boolean, r: () => number) {
    let t = 0
    let n = 0
    let progress: ProgressObservation[] = []
    for (;;) {
      t = planNextPoll(DEFAULT, base({ now: t, polls: n, progress, random: r() })).pollAt
      n++
      if (t >= durationMs) return { polls: n, latencyMs: t - durationMs }
      if (withProgress)
        progress = appendProgress(progress, { atMs: t, percent: Math.floor((100 * t) / durationMs) })
    }
  }
  function old(durationMs: number, r: () => number) {
    let t = 0
    for (let attempt = 1; ; attempt++) {
      t += pollDelayMs(DEFAULT, attempt, r)
      if (t >= durationMs) return { polls: attempt, latencyMs: t - durationMs }
    }
  }
  const durations = [1 * MIN, 5 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR]
  const TRIALS = 300

  it('is no worse without progress and without history, and better with progress', () => {
    const lines: string[] = []
    for (const d of durations) {
      const [a, b, c] = [seeded(7), seeded(7), seeded(7)]
      let oldPolls = 0
      let oldLat = 0
      let planPolls = 0
      let planLat = 0
      let progPolls = 0
      let progLat = 0
      for (let i = 0; i < TRIALS; i++) {
        const dur = d * (0.9 + 0.2 * ((i + 0.5) / TRIALS))
        const o = old(dur, a)
        const p = follow(dur, false, b)
        const q = follow(dur, true, c)
        oldPolls += o.polls
        oldLat += o.latencyMs
        planPolls += p.polls
        planLat += p.latencyMs
        progPolls += q.polls
        progLat += q.latencyMs
      }
      lines.push(
        `${String(d / MIN).padStart(4)} min  old: ${(oldPolls / TRIALS).toFixed(1)} polls, ${(oldLat / TRIALS / S).toFixed(1)} s` +
          `  planner without info: ${(planPolls / TRIALS).toFixed(1)} polls, ${(planLat / TRIALS / S).toFixed(1)} s` +
          `  with progress: ${(progPolls / TRIALS).toFixed(1)} polls, ${(progLat / TRIALS / S).toFixed(1)} s`,
      )
      expect(planPolls).toBeLessThanOrEqual(oldPolls)
      expect(planLat).toBeLessThanOrEqual(oldLat)
      expect(progLat).toBeLessThan(oldLat)
      // Progress buys latency with a few more polls on short jobs, fewer on long ones.
      expect(progPolls / TRIALS).toBeLessThanOrEqual(
        Math.max(oldPolls / TRIALS + 4, (oldPolls / TRIALS) * 1.5),
      )
    }
    console.log(`\n${lines.join('\n')}`)
  })
})
