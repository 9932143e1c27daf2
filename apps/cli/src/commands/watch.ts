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

/** Current counts by state over batches (`bat_…`) and single imports (`imp_…`). */
export async function countStates(deps: CommandDeps, ids: readonly string[]): Promise<StatusCounts> {
  const counts: StatusCounts = {}
  const add = (status: ImportStatus, n: number) => {
    counts[status] = (counts[status] ?? 0) + n
  }
  const views = await Promise.all(
    ids.map(async (id) =>
      isBatchId(id)
        ? (await deps.client.getBatch(id, { limit: 1 })).counts
        : { [(await deps.client.getImport(id)).status]: 1 },
    ),
  )
  for (const view of views)
    for (const [status, n] of Object.entries(view)) if (n) add(status as ImportStatus, n)
  return counts
}

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
  for (;;) {
    const counts = await countStates(deps, ids)
    if (finalOf(counts) >= totalOf(counts)) {
      progress.done(counts)
      return counts
    }
    progress.update(counts)
    await sleep(options.intervalMs)
  }
}

/** `ims-importer watch <id...>`: progress until all final, then the summary; exit 1 on any failure. */
export async function watchCommand(deps: CommandDeps, ids: readonly string[], options: WatchOptions) {
  const counts = await watchUntilFinal(deps, ids, options)
  const summary: Summary = { counts, failures: await collectFailures(deps, ids), rejected: [] }
  deps.stdout.write(formatSummary(summary))
  return exitCodeFor(summary)
}
