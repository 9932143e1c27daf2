// Expected finish of a group of imports (a batch, a target's backlog), from the expected ends of
// its running imports and the expected durations of its queued ones. Pure. The expected end of
// one running import comes from the worker's poll planner (apps/worker/src/poll-planner.ts).

export interface BatchFinishInput {
  now: number
  /** Expected end of each running import of the batch (ms since epoch); null if unknown. */
  running: readonly (number | null)[]
  /** Expected duration of each import still waiting to be submitted (ms); null if unknown. */
  queuedMs: readonly (number | null)[]
  /** Places the batch can use on its target (the in-flight cap, or its share of it). */
  places: number
}

/**
 * A batch's expected finish: its queued imports take the places its running ones free, in
 * order, each for its expected duration (list scheduling); the last end is the batch's.
 * `complete` is false when some import's expectation is unknown (then `at` counts only the
 * known ones: a lower bound).
 */
export function expectedBatchFinish(input: BatchFinishInput): { at: number | null; complete: boolean } {
  const places = Math.max(1, Math.floor(input.places))
  let complete = true
  const free: number[] = input.running.map((r) => {
    if (r === null) complete = false
    return Math.max(input.now, r ?? input.now)
  })
  while (free.length < places) free.push(input.now)
  free.sort((a, b) => a - b)
  let at: number | null = input.running.length > 0 ? Math.max(...free) : null
  for (const q of input.queuedMs) {
    if (q === null) complete = false
    // The earliest free place takes the next queued import.
    const start = free.shift() ?? input.now
    const end = start + Math.max(0, q ?? 0)
    let i = free.findIndex((f) => f > end)
    if (i < 0) i = free.length
    free.splice(i, 0, end)
    at = Math.max(at ?? end, end)
  }
  return { at: at === null ? null : Math.round(at), complete }
}
