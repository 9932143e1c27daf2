import { describe, expect, it } from 'vitest'
import { bestWithin, lowestMedianError, quantileAfter, truncatedLognormal } from '../src/lib/duration-law.js'
import { seededRandom } from '../src/lib/stats.js'

const MIN = 60_000
// The capacity scenario's durations: lognormal, median 12 min, 60 min its 99th percentile, cut at 5 and 60.
const law = truncatedLognormal({ min: 5 * MIN, max: 60 * MIN, median: 12 * MIN })
const SIGMA = Math.log(60 / 12) / 2.3263

/** Draws as the simulator does (apps/ims-simulator/src/image-store.ts): Box-Muller, drawn again outside. */
function draw(random: () => number): number {
  for (;;) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
    const x = 12 * MIN * Math.exp(SIGMA * z)
    if (x >= 5 * MIN && x <= 60 * MIN) return x
  }
}

describe('truncatedLognormal', () => {
  it('has the CDF of the simulator draws, and a quantile that inverts it', () => {
    const random = seededRandom(1)
    const xs = Array.from({ length: 40_000 }, () => draw(random))
    for (const x of [6, 10, 12, 20, 40].map((m) => m * MIN)) {
      const empirical = xs.filter((v) => v <= x).length / xs.length
      expect(Math.abs(law.cdf(x) - empirical)).toBeLessThan(0.01)
      expect(law.quantile(law.cdf(x))).toBeCloseTo(x, -2)
    }
    expect(law.cdf(4 * MIN)).toBe(0)
    expect(law.cdf(61 * MIN)).toBe(1)
    expect(law.quantile(0)).toBe(5 * MIN)
    expect(law.quantile(1)).toBe(60 * MIN)
  })

  it('puts the truncated median above the untruncated one (more is cut below than above)', () => {
    // Untruncated: P(X < 5 min) = Phi(ln(5/12) / sigma) = 0.103, P(X > 60 min) = 0.01.
    const below = 0.5 * (1 + erf(Math.log(5 / 12) / SIGMA / Math.SQRT2))
    const median = 12 * MIN * Math.exp(SIGMA * probitOf(below + (1 - below - 0.01) / 2))
    expect(law.quantile(0.5)).toBeCloseTo(median, -3)
    expect(law.quantile(0.5)).toBeGreaterThan(12 * MIN)
  })
})

describe('quantileAfter: the median of X given X > e', () => {
  it('is the median while e is below the law', () => {
    expect(quantileAfter(law, 2 * MIN, 0.5)).toBeCloseTo(law.quantile(0.5))
  })

  it('matches the conditional median of the draws', () => {
    const random = seededRandom(2)
    const xs = Array.from({ length: 40_000 }, () => draw(random))
    for (const e of [8, 15, 30].map((m) => m * MIN)) {
      const after = xs.filter((x) => x > e).sort((a, b) => a - b)
      const empirical = after[after.length >> 1] as number
      expect(Math.abs(quantileAfter(law, e, 0.5) - empirical) / empirical).toBeLessThan(0.02)
      expect(quantileAfter(law, e, 0.1)).toBeLessThan(quantileAfter(law, e, 0.5))
      expect(quantileAfter(law, e, 0.5)).toBeGreaterThan(e)
    }
  })

  it('is e itself once e is past the law (an overdue job: the estimate cannot be earlier than now)', () => {
    expect(quantileAfter(law, 70 * MIN, 0.5)).toBe(70 * MIN)
  })
})

describe('bestWithin and lowestMedianError', () => {
  it('is the chance of the best window: a narrow law is nearly always within, a wide one seldom', () => {
    const narrow = truncatedLognormal({ min: 9.9 * MIN, max: 10.1 * MIN, median: 10 * MIN })
    expect(bestWithin(narrow, 0, 0.1)).toBeGreaterThan(0.99)
    const p = bestWithin(law, 0, 0.1)
    expect(p).toBeGreaterThan(0.05)
    expect(p).toBeLessThan(0.2)
    // No estimate does better than the best window: the conditional median's own share.
    const m = quantileAfter(law, 0, 0.5)
    expect(law.cdf(m / 0.9) - law.cdf(m / 1.1)).toBeLessThanOrEqual(p)
    expect(bestWithin(law, 0, 1)).toBe(1)
  })

  it('finds the tolerance at which half the estimates can be within it, below any estimator', () => {
    const points = [0, 3, 6, 12, 24].map((m) => ({ law, e: m * MIN }))
    const lowest = lowestMedianError(points)
    const share = (tol: number) => points.reduce((a, x) => a + bestWithin(x.law, x.e, tol), 0) / points.length
    expect(share(lowest)).toBeGreaterThanOrEqual(0.5)
    expect(share(lowest - 0.002)).toBeLessThan(0.5)
    // The conditional median, one estimator, expects no more than half within `lowest`.
    const random = seededRandom(3)
    const errors = points.flatMap(({ e }) =>
      Array.from({ length: 4000 }, () => {
        let x = draw(random)
        while (x <= e) x = draw(random)
        return Math.abs(quantileAfter(law, e, 0.5) - x) / (x - e)
      }),
    )
    errors.sort((a, b) => a - b)
    expect(errors[errors.length >> 1]).toBeGreaterThan(lowest - 0.01)
  })
})

/** erf by its series (enough for |x| < 3 here). */
function erf(x: number): number {
  let term = x
  let sum = x
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n
    sum += term / (2 * n + 1)
  }
  return (2 / Math.sqrt(Math.PI)) * sum
}

/** The inverse of the normal CDF by bisection on erf. */
function probitOf(p: number): number {
  let lo = -8
  let hi = 8
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2
    if (0.5 * (1 + erf(mid / Math.SQRT2)) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}
