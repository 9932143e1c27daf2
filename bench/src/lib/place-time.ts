/**
 * Place-time under an in-flight cap: the bound a batch could reach with zero detection latency,
 * and how the places were held over a run (for the capacity scenario's figures and chart).
 */
import { sum } from './stats.js'

/** One import's hold on a place (epoch ms): taken, IMS job ended, seen final (place freed). */
export interface PlaceSpan {
  takenAt: number
  imsEndAt: number
  freedAt: number
}

/**
 * Makespan of list scheduling with `places` places and zero detection latency: jobs of
 * `durationsMs` start in the given order, each on the first place to free, from time 0 (ms).
 * The best a service that sees every end at once and submits in this order can do.
 */
export function listScheduleMs(durationsMs: readonly number[], places: number): number {
  // Free times of the places, kept sorted (small: a linear insert is enough).
  const free = Array.from({ length: places }, () => 0)
  let end = 0
  for (const d of durationsMs) {
    const start = free.shift() as number
    const done = start + d
    end = Math.max(end, done)
    let i = free.length
    while (i > 0 && (free[i - 1] as number) > done) i--
    free.splice(i, 0, done)
  }
  return end
}

/** Share of all held place-time that was held after IMS had ended the job, until it was seen. */
export function idleShare(spans: readonly PlaceSpan[]): number {
  const held = sum(spans.map((s) => s.freedAt - s.takenAt))
  const idle = sum(spans.map((s) => Math.max(0, s.freedAt - Math.max(s.imsEndAt, s.takenAt))))
  return held > 0 ? idle / held : Number.NaN
}

/** Places held at `points` times: by a running IMS job, and after IMS ended it (not seen yet). */
export function placeTimeline(
  spans: readonly PlaceSpan[],
  from: number,
  to: number,
  points: number,
): { at: number; running: number; idle: number }[] {
  const out: { at: number; running: number; idle: number }[] = []
  for (let k = 0; k <= points; k++) {
    const at = from + ((to - from) * k) / points
    let running = 0
    let idle = 0
    for (const s of spans) {
      if (at < s.takenAt || at >= s.freedAt) continue
      if (at < s.imsEndAt) running++
      else idle++
    }
    out.push({ at, running, idle })
  }
  return out
}

/** POSTs that were beyond `limit` in the window of `windowMs` ending at them (inclusive). */
export function postsOverLimit(times: readonly number[], limit: number, windowMs: number): number {
  const t = [...times].sort((a, b) => a - b)
  let over = 0
  let j = 0
  for (let i = 0; i < t.length; i++) {
    while ((t[j] as number) <= (t[i] as number) - windowMs) j++
    if (i - j + 1 > limit) over++
  }
  return over
}
