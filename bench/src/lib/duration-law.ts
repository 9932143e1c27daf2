/**
 * The law the simulator draws job durations (and the capacity scenario draws file sizes) from,
 * for the best expected finish any estimator could give that knows it: the floor the capacity
 * scenario prints beside ours (why: docs/poll-planner.md, "How good can it be without progress").
 */

/** z of the untruncated law's 99th percentile, as apps/ims-simulator/src/image-store.ts sets the spread. */
const Z_99 = 2.3263

export interface LawSpec {
  min: number
  max: number
  median: number
}

/** A continuous law on [min, max]. */
export interface DurationLaw {
  min: number
  max: number
  /** P(X <= x). */
  cdf(x: number): number
  /** The x with cdf(x) = p (p in [0, 1]). */
  quantile(p: number): number
}

/**
 * The simulator's truncated lognormal: median `median`, spread such that `max` is the 99th
 * percentile of the untruncated law, draws outside [min, max] drawn again. Its CDF is tabulated by
 * integrating the normal density over ln x (trapezoids, `steps` of them; error below 1e-6).
 */
export function truncatedLognormal(spec: LawSpec, steps = 4096): DurationLaw {
  const { min, max } = spec
  const median = Math.min(max, Math.max(min, spec.median))
  const sigma = Math.log(max / median) / Z_99 || 0.5
  const lo = Math.log(min)
  const h = (Math.log(max) - lo) / steps
  const density = (u: number) => Math.exp(-0.5 * ((u - Math.log(median)) / sigma) ** 2)
  const table = new Float64Array(steps + 1)
  for (let i = 1; i <= steps; i++)
    table[i] = (table[i - 1] as number) + (h * (density(lo + (i - 1) * h) + density(lo + i * h))) / 2
  const total = table[steps] as number
  for (let i = 0; i <= steps; i++) table[i] = (table[i] as number) / total
  return {
    min,
    max,
    cdf(x) {
      if (x <= min) return 0
      if (x >= max) return 1
      const pos = (Math.log(x) - lo) / h
      const i = Math.min(steps - 1, Math.floor(pos))
      const a = table[i] as number
      return a + ((table[i + 1] as number) - a) * (pos - i)
    },
    quantile(p) {
      if (p <= 0) return min
      if (p >= 1) return max
      let a = 0
      let b = steps
      while (b - a > 1) {
        const m = (a + b) >> 1
        if ((table[m] as number) < p) a = m
        else b = m
      }
      const ta = table[a] as number
      const tb = table[b] as number
      return Math.exp(lo + (a + (tb > ta ? (p - ta) / (tb - ta) : 0)) * h)
    },
  }
}

/** The q-quantile of X given X > e (e may be below the law's min: then no condition). */
export function quantileAfter(law: DurationLaw, e: number, q: number): number {
  const f = law.cdf(e)
  return Math.max(e, law.quantile(f + (1 - f) * q))
}

/**
 * The best chance any estimate can have of landing within `tol` of the remaining time: of X given
 * X > e, the remaining time is r = X - e, and an estimate r' is within tol of it when
 * r is in [r' / (1 + tol), r' / (1 - tol)]. The highest probability of such a window over r'
 * (a log grid of `grid` window starts). Whatever an estimator does, the share of its estimates
 * within tol is at most the mean of this over the samples. From tol = 1 on, an estimate near 0
 * is always within.
 */
export function bestWithin(law: DurationLaw, e: number, tol: number, grid = 200): number {
  if (tol >= 1) return 1
  const from = Math.max(law.min, e)
  const left = 1 - law.cdf(from)
  if (left <= 0) return 1
  // Windows starting closer to e than a thousandth of the longest remaining time hold next to nothing.
  const first = Math.max(from - e, (law.max - e) * 1e-3)
  const last = law.max - e
  let best = 0
  for (let i = 0; i <= grid; i++) {
    // The window [e + a, e + a (1 + tol) / (1 - tol)]: a is its start's remaining time.
    const a = first * (last / first) ** (i / grid)
    const p = law.cdf(e + (a * (1 + tol)) / (1 - tol)) - law.cdf(e + a)
    if (p > best) best = p
  }
  return Math.min(1, best / left)
}

/**
 * The lowest median error any estimator that knows the laws can expect over these points (each a
 * law and the time elapsed in it): the tolerance at which the mean of bestWithin reaches 1/2.
 * Below it, less than half of any estimator's errors are expected within it. Bisection, to 1e-3.
 */
export function lowestMedianError(points: readonly { law: DurationLaw; e: number }[], grid = 200): number {
  const share = (tol: number) =>
    points.reduce((acc, x) => acc + bestWithin(x.law, x.e, tol, grid), 0) / points.length
  let lo = 0
  let hi = 1
  while (hi - lo > 1e-3) {
    const mid = (lo + hi) / 2
    if (share(mid) >= 0.5) hi = mid
    else lo = mid
  }
  return hi
}
