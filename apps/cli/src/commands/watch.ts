import type { ExpectedFinish, ImportStatus, StatusCounts } from '@ims-importer/api-client'
import { combineFinishes, type OpenFinish } from '../eta.js'
import { createProgress, finalOf, totalOf, type WatchEta } from '../progress.js'
import { exitCodeFor, type FailedImport, failedImport, formatSummary, type Summary } from '../summary.js'
import { type CommandDeps, defaultSleep } from './deps.js'

export interface WatchOptions {
  /** Poll period in ms. */
  intervalMs: number
  /** Off a TTY, one progress line per this many ms. */
  plainEveryMs?: number
}

const isBatchId = (id: string) => id.startsWith('bat_')

/** Running imports of a batch asked for on each poll (their expected finish is shown). */
const RUNNING_PAGE = 50

/** Requests in flight at once while counting (the API limits requests per key and minute). */
const COUNT_CONCURRENCY = 4

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  })
  await Promise.all(lanes)
  return out
}

/** What one poll learns of one id: its counts, what is expected of it, its running imports. */
interface Observed {
  counts: StatusCounts
  finish: OpenFinish
  running: { id: string; expected_finish: ExpectedFinish | null; size_bytes: number | null }[]
  /** Running imports of a batch beyond the page read. */
  moreRunning: number
}

/**
 * Counts by state over batches (`bat_…`) and single imports (`imp_…`), with the expected finish
 * of each and of its running imports (one request per id: a batch is asked for its running
 * items). An id whose imports are all final never changes again: the counter remembers it and
 * stops asking, so a long watch over many batches costs fewer requests as it goes.
 */
export function createStateCounter(deps: CommandDeps, ids: readonly string[]) {
  const settled = new Map<string, StatusCounts>()
  const observeOne = async (id: string): Promise<Observed> => {
    const known = settled.get(id)
    if (known) return { counts: known, finish: null, running: [], moreRunning: 0 }
    let observed: Observed
    if (isBatchId(id)) {
      const batch = await deps.client.getBatch(id, { status: 'running', limit: RUNNING_PAGE })
      // An API without the status filter answers the first items: keep the running ones.
      const running = batch.items
        .filter((i) => i.status === 'running')
        .map((i) => ({
          id: i.id,
          expected_finish: i.expected_finish ?? null,
          size_bytes: i.file_size_bytes ?? null,
        }))
      observed = {
        counts: batch.counts,
        finish: batch.expected_finish ?? null,
        running,
        moreRunning: Math.max(0, (batch.counts.running ?? 0) - running.length),
      }
    } else {
      const view = await deps.client.getImport(id)
      const finish = view.expected_finish ?? null
      observed = {
        counts: { [view.status]: 1 },
        finish: finish && { at: finish.at, complete: true },
        running:
          view.status === 'running'
            ? [{ id, expected_finish: finish, size_bytes: view.file?.size_bytes ?? null }]
            : [],
        moreRunning: 0,
      }
    }
    if (finalOf(observed.counts) >= totalOf(observed.counts)) settled.set(id, observed.counts)
    return observed
  }
  const observe = async (): Promise<{ counts: StatusCounts; eta: WatchEta }> => {
    const counts: StatusCounts = {}
    const open: OpenFinish[] = []
    const eta: WatchEta = { finish: null, running: [], moreRunning: 0 }
    for (const [i, one] of (await mapLimited(ids, COUNT_CONCURRENCY, observeOne)).entries()) {
      for (const [status, n] of Object.entries(one.counts))
        if (n) counts[status as ImportStatus] = (counts[status as ImportStatus] ?? 0) + n
      if (!settled.has(ids[i] as string)) open.push(one.finish)
      eta.running.push(...one.running)
      eta.moreRunning += one.moreRunning
    }
    eta.finish = combineFinishes(open)
    return { counts, eta }
  }
  return {
    /** Ids still being asked about. */
    pending: () => ids.filter((id) => !settled.has(id)).length,
    count: async (): Promise<StatusCounts> => (await observe()).counts,
    /** Counts, the expected finish of everything still open and each running import's. */
    observe,
  }
}

/** Current counts by state over batches and single imports. */
export const countStates = (deps: CommandDeps, ids: readonly string[]): Promise<StatusCounts> =>
  createStateCounter(deps, ids).count()

/** The failed imports of batches and single imports, with their file line when `lineOf` knows it. */
export async function collectFailures(
  deps: CommandDeps,
  ids: readonly string[],
  lineOf: (importId: string) => number | null = () => null,
): Promise<FailedImport[]> {
  const failures: FailedImport[] = []
  for (const id of ids) {
    if (!isBatchId(id)) {
      const view = await deps.client.getImport(id)
      if (view.status === 'failed') failures.push(failedImport(view, lineOf(view.id)))
      continue
    }
    let cursor: string | undefined
    do {
      const page = await deps.client.listImports({ batch_id: id, status: 'failed', limit: 500, cursor })
      for (const view of page.items) failures.push(failedImport(view, lineOf(view.id)))
      cursor = page.next_cursor ?? undefined
    } while (cursor)
  }
  return failures.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || a.id.localeCompare(b.id))
}

/** Polls until every import is final, drawing progress; returns the last counts. */
export async function watchUntilFinal(
  deps: CommandDeps,
  ids: readonly string[],
  options: WatchOptions,
): Promise<StatusCounts> {
  const sleep = deps.sleep ?? defaultSleep
  const progress = createProgress(deps.stdout, {
    tty: deps.stdout.isTTY === true,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.timeZone ? { timeZone: deps.timeZone } : {}),
    ...(options.plainEveryMs !== undefined ? { plainEveryMs: options.plainEveryMs } : {}),
  })
  const counter = createStateCounter(deps, ids)
  for (;;) {
    const { counts, eta } = await counter.observe()
    if (finalOf(counts) >= totalOf(counts)) {
      progress.done(counts)
      return counts
    }
    progress.update(counts, eta)
    // Many open batches: poll less often, about 5 requests a second at most.
    await sleep(Math.max(options.intervalMs, counter.pending() * 200))
  }
}

/** `ims-importer watch <id...>`: progress until all final, then the summary; exit 1 on any failure. */
export async function watchCommand(deps: CommandDeps, ids: readonly string[], options: WatchOptions) {
  const counts = await watchUntilFinal(deps, ids, options)
  const summary: Summary = { counts, failures: await collectFailures(deps, ids), rejected: [] }
  deps.stdout.write(formatSummary(summary))
  return exitCodeFor(summary)
}
