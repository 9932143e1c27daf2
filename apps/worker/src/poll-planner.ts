import type { DurationEstimate, PollSchedule } from '@ims-importer/core'
import { pollDelayMs } from './poll-schedule.js'

// Completion-aware poll planning: when to poll an import next, from IMS's progress, the
// target's duration history, whether imports wait for a place, and the poll budget. Pure: no
// Redis, no clock (`now` is an argument), no randomness (`random` is an argument).
// The policy, its derivation and the interface for the poll processor: docs/poll-planner.md

/** The target's poll section with every planner field resolved (see resolvePollPolicy). */
export interface PollPolicy {
  initialDelayMs: number
  factor: number
  maxDelayMs: number
  jitter: number
  minDelayMs: number
  pollCostBusy: number
  pollCostIdle: number
  budgetReserve: number
}

export const POLICY_DEFAULTS = {
  /** minDelayMs = initialDelayMs / this (30 s -> 5 s). */
  minDelayDivisor: 6,
  pollCostBusy: 0.003,
  pollCostIdle: 0.015,
  budgetReserve: 0.25,
} as const

/**
 * Fills the planner's optional fields of a target's poll section. Every time in the policy is
 * one of the section's times or derived from them, so scaling the section's times by one
 * factor scales every decision by that factor.
 */
export function resolvePollPolicy(schedule: PollSchedule): PollPolicy {
  const minDelayMs = Math.min(
    schedule.maxDelayMs,
    schedule.minDelayMs ?? Math.max(1, Math.round(schedule.initialDelayMs / POLICY_DEFAULTS.minDelayDivisor)),
  )
  return {
    initialDelayMs: schedule.initialDelayMs,
    factor: schedule.factor,
    maxDelayMs: schedule.maxDelayMs,
    jitter: schedule.jitter,
    minDelayMs,
    pollCostBusy: schedule.pollCostBusy ?? POLICY_DEFAULTS.pollCostBusy,
    pollCostIdle: schedule.pollCostIdle ?? POLICY_DEFAULTS.pollCostIdle,
    budgetReserve: schedule.budgetReserve ?? POLICY_DEFAULTS.budgetReserve,
  }
}

/** One `entities.process_percent` seen by a poll, and when (ms since epoch). */
export interface ProgressObservation {
  atMs: number
  percent: number
}

/**
 * Adds one observation to an import's list, keeping it bounded for the poll job's data: the
 * first observation (the longest span for the rate), the first and the last of the current
 * run of equal percents (how long progress has stalled), and the most recent others.
 */
export function appendProgress(
  list: readonly ProgressObservation[],
  next: ProgressObservation,
  limit = 8,
): ProgressObservation[] {
  if (!Number.isFinite(next.percent) || !Number.isFinite(next.atMs)) return [...list]
  const out = [...list]
  const last = out[out.length - 1]
  const beforeLast = out[out.length - 2]
  if (last && next.atMs < last.atMs) return out
  // A run of equal percents keeps its first and its newest observation only.
  if (last && beforeLast && last.percent === next.percent && beforeLast.percent === next.percent) out.pop()
  out.push({ atMs: next.atMs, percent: Math.min(100, Math.max(0, next.percent)) })
  while (out.length > Math.max(3, limit)) out.splice(1, 1)
  return out
}

/** Job-status GETs of the target's sliding window (limits.pollRate), as the poll gate sees them. */
export interface PollBudget {
  /** GETs still available in the next window. */
  available: number
  /** GETs the window allows in all. */
  capacity: number
  /** The window's length (ms). */
  windowMs: number
}

export interface PlanInput {
  /** Time of the decision (ms since epoch). */
  now: number
  /** When IMS accepted the job (ms since epoch): durations count from here. */
  submittedAt: number
  /** Polls of this import made so far (0 when planning the first). */
  polls: number
  /** This import's progress observations, oldest first (appendProgress). */
  progress: readonly ProgressObservation[]
  /** The duration model's estimate for the import's target and size. */
  estimate: DurationEstimate | null
  /** Imports wait for a place on the target: a second of detection latency is a second of IMS capacity. */
  demand: boolean
  budget?: PollBudget | undefined
  /** A uniform draw in [0, 1) for the jitter; 0.5 = none. */
  random?: number | undefined
}

export type PlanBasis = 'none' | 'history' | 'progress' | 'progress+history'

export interface ExpectedFinish {
  /** Median expected end of the IMS job (ms since epoch). */
  at: number
  /** 10th and 90th percentiles of the end (ms since epoch). */
  p10At: number
  p90At: number
  basis: Exclude<PlanBasis, 'none'>
}

export interface PollPlan {
  /** Delay until the next poll (ms), within the policy's bounds. */
  delayMs: number
  /** now + delayMs */
  pollAt: number
  /** Why this delay: the fixed schedule (nothing known), the plan, a bound, or the exhausted budget. */
  reason: 'schedule' | 'planned' | 'min-bound' | 'max-bound' | 'budget'
  basis: PlanBasis
  expectedFinish: ExpectedFinish | null
  /**
   * Chance that the job has ended by pollAt, given it was running at `now` (0..1; null with
   * nothing known). The poll gate uses it to rank polls when the budget binds (admitPoll).
   */
  finishChance: number | null
}

// --- The belief: a distribution of the job's total duration D (ms from submit) --------------

/**
 * ln D = mu + s * Z with Z standard normal, s = sLo below the median and sHi above it: a
 * lognormal with its own spread on each side (history is rarely symmetric: a floor and a tail).
 */
interface Belief {
  mu: number
  sLo: number
  sHi: number
  basis: Exclude<PlanBasis, 'none'>
}

/** z of the 90th percentile. */
const Z90 = 1.2815515655446004
/** The narrowest spread of a belief (log units): no estimate is better than 1%. */
const S_MIN = 0.01
/** How far (in z) past its own median a belief may find the job still running before it widens. */
const Z_OVERDUE = 2
/** Relative error of a rate read from progress, beyond the 1% steps: IMS's progress is not quite linear. */
const PROGRESS_NONLINEARITY = 0.1
/** A rate needs at least this many percent between its two points to be preferred over a longer span. */
const RATE_MIN_SPAN = 5

function historyBelief(e: DurationEstimate): Belief | null {
  if (!(e.medianMs > 0)) return null
  // Few samples: their quantiles are loose, so widen.
  const widen = 1 + 1 / Math.sqrt(Math.max(1, e.samples))
  return {
    mu: Math.log(e.medianMs),
    sLo: Math.max(S_MIN, (Math.log(e.medianMs / Math.max(1, e.p10Ms)) / Z90) * widen),
    sHi: Math.max(S_MIN, (Math.log(Math.max(e.p90Ms, e.medianMs) / e.medianMs) / Z90) * widen),
    basis: 'history',
  }
}

/**
 * The duration that IMS's progress implies: the rate between the newest observation and an
 * earlier point (the newest one at least RATE_MIN_SPAN percent below, else the submit at 0%),
 * extrapolated to 100%. Its spread grows with the percent steps' rounding, with non-linearity,
 * and with how long the percent has stood still.
 */
function progressBelief(progress: readonly ProgressObservation[], submittedAt: number): Belief | null {
  const last = progress[progress.length - 1]
  if (!last || last.percent < 1 || last.atMs <= submittedAt) return null
  // IMS floors the percent: the true value lies in [p, p + 1).
  const pl = Math.min(99.5, last.percent + 0.5)
  let anchor = { atMs: submittedAt, p: 0, rounding: 0 }
  for (const o of progress) {
    if (o.atMs >= last.atMs || o.percent >= last.percent) continue
    if (pl - (o.percent + 0.5) >= RATE_MIN_SPAN && o.atMs > anchor.atMs)
      anchor = { atMs: o.atMs, p: o.percent + 0.5, rounding: 0.29 }
  }
  const span = pl - anchor.p
  const rate = span / (last.atMs - anchor.atMs) // percent per ms
  if (!(rate > 0)) return null
  const remaining = (100 - pl) / rate
  // The start of the current run of equal percents: progress has stood still since then.
  let stillSince = last.atMs
  for (let i = progress.length - 1; i >= 0 && progress[i]?.percent === last.percent; i--)
    stillSince = (progress[i] as ProgressObservation).atMs
  const relErr = Math.hypot(PROGRESS_NONLINEARITY, Math.hypot(0.29, anchor.rounding) / span)
  const sigmaMs = Math.max(relErr * remaining, 0.5 / rate, last.atMs - stillSince)
  const total = last.atMs + remaining - submittedAt
  const s = Math.max(S_MIN, sigmaMs / total)
  return { mu: Math.log(total), sLo: s, sHi: s, basis: 'progress' }
}

/** Progress and history together: inverse-variance weights in log space, per side. */
function combine(p: Belief | null, h: Belief | null): Belief | null {
  if (!p || !h) return p ?? h
  const sH = p.mu > h.mu ? h.sHi : h.sLo
  const wp = 1 / (p.sHi * p.sHi)
  const wh = 1 / (sH * sH)
  return {
    mu: (p.mu * wp + h.mu * wh) / (wp + wh),
    sLo: 1 / Math.sqrt(wp + 1 / (h.sLo * h.sLo)),
    sHi: 1 / Math.sqrt(wp + 1 / (h.sHi * h.sHi)),
    basis: 'progress+history',
  }
}

/** A job still running far past what the belief expects shows the belief too narrow: widen its upper side. */
function widenIfOverdue(b: Belief, elapsedMs: number): Belief {
  if (elapsedMs <= 1) return b
  const x = Math.log(elapsedMs)
  if (x - b.mu <= Z_OVERDUE * b.sHi) return b
  return { ...b, sHi: (x - b.mu) / Z_OVERDUE }
}

/** The belief about this import's total duration, given it is still running `now`; null if nothing is known. */
function beliefOf(input: PlanInput): Belief | null {
  const b = combine(
    progressBelief(input.progress, input.submittedAt),
    input.estimate ? historyBelief(input.estimate) : null,
  )
  return b && widenIfOverdue(b, input.now - input.submittedAt)
}

// --- Normal distribution helpers ------------------------------------------------------------

const SQRT2PI = Math.sqrt(2 * Math.PI)
const phi = (z: number) => Math.exp(-0.5 * z * z) / SQRT2PI

/** Complementary error function (Numerical Recipes erfcc: relative error < 1.2e-7 everywhere). */
function erfc(x: number): number {
  const z = Math.abs(x)
  const t = 1 / (1 + 0.5 * z)
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    )
  return x >= 0 ? r : 2 - r
}

/** P(Z > z). */
const upper = (z: number) => 0.5 * erfc(z / Math.SQRT2)

/** phi(z) / P(Z > z), the standard normal's hazard; asymptotic where the tail underflows. */
function normalHazard(z: number): number {
  if (z > 30) return z + 1 / z
  return phi(z) / upper(z)
}

/** A polynomial by Horner's rule, highest power first. */
const horner = (coef: readonly number[], x: number) => coef.reduce((acc, c) => acc * x + c, 0)

const PROBIT_A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
]
const PROBIT_B = [
  -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572, 1,
]
const PROBIT_C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
]
const PROBIT_D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416, 1]

/** Inverse of the standard normal CDF (Acklam; relative error < 1.2e-9). */
function probit(p: number): number {
  const q0 = Math.min(Math.max(p, 1e-300), 1 - 1e-16)
  const tail = (q: number) => {
    const r = Math.sqrt(-2 * Math.log(q))
    return horner(PROBIT_C, r) / horner(PROBIT_D, r)
  }
  if (q0 < 0.02425) return tail(q0)
  if (q0 > 1 - 0.02425) return -tail(1 - q0)
  const q = q0 - 0.5
  const r = q * q
  return (horner(PROBIT_A, r) * q) / horner(PROBIT_B, r)
}

// --- The belief's distribution of D --------------------------------------------------------

const zOf = (b: Belief, t: number) => {
  const x = Math.log(Math.max(1, t)) - b.mu
  return x < 0 ? x / b.sLo : x / b.sHi
}
/** P(D > t). */
const survival = (b: Belief, t: number) => upper(zOf(b, t))
/** Hazard of D at t (per ms): the chance per ms of ending at t, given running until t. */
function hazard(b: Belief, t: number): number {
  const z = zOf(b, t)
  return normalHazard(z) / ((z < 0 ? b.sLo : b.sHi) * Math.max(1, t))
}
/** The q-quantile of D given D > e. */
function quantileAfter(b: Belief, e: number, q: number): number {
  const target = survival(b, e) * (1 - q)
  const z = -probit(target)
  return Math.max(e, Math.exp(b.mu + z * (z < 0 ? b.sLo : b.sHi)))
}

function finishOf(b: Belief, submittedAt: number, elapsed: number): ExpectedFinish {
  return {
    at: Math.round(submittedAt + quantileAfter(b, elapsed, 0.5)),
    p10At: Math.round(submittedAt + quantileAfter(b, elapsed, 0.1)),
    p90At: Math.round(submittedAt + quantileAfter(b, elapsed, 0.9)),
    basis: b.basis,
  }
}

/**
 * When the IMS job of a running import is expected to end, from what is known at `input.now`
 * (its progress, the model's estimate); null when nothing is known. The same answer
 * planNextPoll gives, for readers (API, CLI, dashboard) that recompute it at view time.
 */
export function expectedFinish(
  input: Omit<PlanInput, 'polls' | 'demand' | 'budget' | 'random'>,
): ExpectedFinish | null {
  const b = beliefOf({ ...input, polls: 0, demand: false })
  return b && finishOf(b, input.submittedAt, Math.max(0, input.now - input.submittedAt))
}

/** Candidate delays between the bounds, geometrically spaced. */
const GRID_STEPS = 96

/**
 * The next poll of one running import (call it right after a poll found the job running, and
 * at submit with polls = 0 and no progress).
 *
 * With nothing known it is the target's fixed schedule (pollDelayMs). Otherwise it spaces polls
 * so as to minimise detection latency (as a share of the duration) plus `cost` per poll: around
 * time t the best spacing is sqrt(2 * cost * t / hazard(t)), where hazard(t) is the chance per
 * ms that the job ends at t given it is still running. Far from the expected end the hazard is
 * tiny and the planner sleeps (up to maxDelayMs); near it, it polls tight (down to minDelayMs).
 * The cost is smaller while imports wait for a place (demand).
 */
export function planNextPoll(policy: PollPolicy, input: PlanInput): PollPlan {
  const elapsed = Math.max(0, input.now - input.submittedAt)
  const random = input.random ?? 0.5
  const b = beliefOf(input)
  let delayMs: number
  let reason: PollPlan['reason']
  if (!b) {
    delayMs = pollDelayMs(policy, input.polls + 1, () => random)
    reason = 'schedule'
  } else {
    // A poll costs more as the target's window of GETs fills: below the reserve, the price of a
    // poll rises as 1 / (share left), so spacings stretch by its square root.
    const left = input.budget ? input.budget.available / Math.max(1, input.budget.capacity) : 1
    const scarcity = left >= policy.budgetReserve ? 1 : policy.budgetReserve / Math.max(0.01, left)
    const cost = (input.demand ? policy.pollCostBusy : policy.pollCostIdle) * scarcity
    const spacing = (t: number) => Math.sqrt((2 * cost * t) / hazard(b, t))
    const { minDelayMs: lo, maxDelayMs: hi } = policy
    const ratio = (hi / lo) ** (1 / GRID_STEPS)
    delayMs = hi
    reason = 'max-bound'
    for (let d = lo, i = 0; i <= GRID_STEPS; i++, d *= ratio) {
      if (d >= spacing(elapsed + d)) {
        delayMs = d
        reason = i === 0 ? 'min-bound' : 'planned'
        break
      }
    }
    if (reason === 'planned') {
      const jittered = delayMs * (1 - policy.jitter + 2 * policy.jitter * random)
      delayMs = Math.min(hi, Math.max(lo, jittered))
    }
  }
  if (input.budget && input.budget.available <= 0 && delayMs < input.budget.windowMs) {
    delayMs = input.budget.windowMs * (1 + policy.jitter * random)
    reason = 'budget'
  }
  delayMs = Math.max(1, Math.round(delayMs))
  const pollAt = input.now + delayMs
  return {
    delayMs,
    pollAt,
    reason,
    basis: b ? b.basis : 'none',
    expectedFinish: b && finishOf(b, input.submittedAt, elapsed),
    finishChance: b && 1 - survival(b, elapsed + delayMs) / survival(b, elapsed),
  }
}

// --- Budget: where the target's job-status GETs free the most place-time -----------------------

/**
 * Whether a due poll may spend one of the target's GETs now. A poll likely to find its import
 * finished (finishChance near 1) may take the last GET of the window; one unlikely to
 * (near 0) runs only while more than `budgetReserve` of the window is left, so the reserve
 * goes to polls that free places. A refused poll comes back after the window (planNextPoll
 * with budget.available = 0). Unknown chances (the fixed schedule) count as 0.5.
 */
export function admitPoll(policy: PollPolicy, finishChance: number | null, budget: PollBudget): boolean {
  if (budget.available < 1) return false
  const chance = Math.min(1, Math.max(0, finishChance ?? 0.5))
  return budget.available > budget.capacity * policy.budgetReserve * (1 - chance)
}

export interface PollCandidate {
  id: string
  /** The chance the import's job has ended by now, given it was running at its last poll. */
  finishChance: number | null
}

/**
 * Given the due polls of one target and the GETs available, which to make now: the expected
 * place-time freed by a poll made now rather than a window later is finishChance x window, so
 * the polls go in order of finishChance (ties: input order, i.e. the longest due first).
 */
export function allocatePolls(
  candidates: readonly PollCandidate[],
  available: number,
): { poll: string[]; defer: string[] } {
  const ranked = candidates
    .map((c, i) => ({ c, i, v: c.finishChance ?? 0.5 }))
    .sort((a, b) => b.v - a.v || a.i - b.i)
  const n = Math.max(0, Math.floor(available))
  return { poll: ranked.slice(0, n).map((r) => r.c.id), defer: ranked.slice(n).map((r) => r.c.id) }
}

/**
 * The chance that an import's job ended between its last poll (when it was running) and `now`,
 * for allocatePolls at `now` rather than at plan time.
 */
export function finishChanceBetween(
  input: Omit<PlanInput, 'polls' | 'demand' | 'budget' | 'random'>,
  lastPollAt: number,
): number | null {
  const b = beliefOf({ ...input, now: lastPollAt, polls: 0, demand: false })
  if (!b) return null
  const e = Math.max(0, lastPollAt - input.submittedAt)
  const t = Math.max(e, input.now - input.submittedAt)
  return 1 - survival(b, t) / survival(b, e)
}
