/** Small statistics helpers; inputs need not be sorted. */

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

export function sum(xs: readonly number[]): number {
  let s = 0
  for (const x of xs) s += x
  return s
}

/**
 * The largest number of events in any half-open window [t, t + windowMs), over every possible
 * placement (it suffices to start windows at event times). Times in ms.
 */
export function maxInSlidingWindow(times: readonly number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b)
  let best = 0
  let j = 0
  for (let i = 0; i < t.length; i++) {
    if (j < i) j = i
    while (j < t.length && (t[j] as number) < (t[i] as number) + windowMs) j++
    best = Math.max(best, j - i)
  }
  return best
}

/**
 * The rate a limiter achieved, in events per window: every event "uses" one window of the
 * limit, so a limiter that lets exactly R through at 0, W, 2W ... scores exactly R.
 */
export function achievedPerWindow(times: readonly number[], windowMs: number): number {
  if (times.length === 0) return 0
  let lo = Number.POSITIVE_INFINITY
  let hi = Number.NEGATIVE_INFINITY
  for (const x of times) {
    if (x < lo) lo = x
    if (x > hi) hi = x
  }
  return (times.length * windowMs) / (hi - lo + windowMs)
}

export { seededRandom } from '@ims-importer/core/testing'

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
