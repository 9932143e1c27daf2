/** The largest number of timestamps (ms) falling in any half-open window [t, t + windowMs). */
export function maxInSlidingWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let max = 0
  let start = 0
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start++
    max = Math.max(max, end - start + 1)
  }
  return max
}

/** The fullest window, as offsets from its first timestamp (for failure messages). */
export function fullestWindow(times: number[], windowMs: number): number[] {
  const sorted = [...times].sort((a, b) => a - b)
  let best: number[] = []
  let start = 0
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start++
    if (end - start + 1 > best.length) best = sorted.slice(start, end + 1)
  }
  return best.map((t) => t - (best[0] as number))
}
