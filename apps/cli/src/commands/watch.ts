import type { ImportStatus, StatusCounts } from '@ims-importer/api-client'
import { createProgress, finalOf, totalOf } from '../progress.js'
import { exitCodeFor, type FailedImport, failedImport, formatSummary, type Summary } from '../summary.js'
import { type CommandDeps, defaultSleep } from './deps.js'

export interface WatchOptions {
  /** Poll period in ms. */
  intervalMs: number
  /** Off a TTY, one progress line per this many ms. */
  plainEveryMs?: number
}

const isBatchId = (id: string) => id.startsWith('bat_')

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

/**
 * Counts by state over batches (`bat_…`) and single imports (`imp_…`). An id whose imports are
 * all final never changes again: the counter remembers it and stops asking, so a long watch over
 * many batches costs fewer requests as it goes.
 */
export function createStateCounter(deps: CommandDeps, ids: readonly string[]) {
  const settled = new Map<string, StatusCounts>()
  const countOne = async (id: string): Promise<StatusCounts> => {
    const known = settled.get(id)
    if (known) return known
    const counts: StatusCounts = isBatchId(id)
      ? (await deps.client.getBatch(id, { limit: 1 })).counts
      : { [(await deps.client.getImport(id)).status]: 1 }
    if (finalOf(counts) >= totalOf(counts)) settled.set(id, counts)
    return counts
  }
  return {
    /** Ids still being asked about. */
    pending: () => ids.filter((id) => !settled.has(id)).length,
    count: async (): Promise<StatusCounts> => {
      const total: StatusCounts = {}
      for (const counts of await mapLimited(ids, COUNT_CONCURRENCY, countOne))
        for (const [status, n] of Object.entries(counts))
          if (n) total[status as ImportStatus] = (total[status as ImportStatus] ?? 0) + n
      return total
    },
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
    ...(options.plainEveryMs !== undefined ? { plainEveryMs: options.plainEveryMs } : {}),
  })
  const counter = createStateCounter(deps, ids)
  for (;;) {
    const counts = await counter.count()
    if (finalOf(counts) >= totalOf(counts)) {
      progress.done(counts)
      return counts
    }
    progress.update(counts)
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
