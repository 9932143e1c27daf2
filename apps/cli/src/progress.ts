import { FINAL_STATUSES, IMPORT_STATUSES, type StatusCounts } from '@ims-importer/api-client'

/** Where progress goes: process.stdout or anything with write (tests). */
export interface OutputStream {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface ProgressStats {
  total: number
  final: number
  /** Imports reaching a final state per second since watching began; null until one did. */
  ratePerSec: number | null
  /** Time left at that rate in ms; null while the rate is unknown. */
  etaMs: number | null
}

export function totalOf(counts: StatusCounts): number {
  return IMPORT_STATUSES.reduce((sum, s) => sum + (counts[s] ?? 0), 0)
}

export function finalOf(counts: StatusCounts): number {
  return FINAL_STATUSES.reduce((sum, s) => sum + (counts[s] ?? 0), 0)
}

export function progressStats(
  counts: StatusCounts,
  start: { at: number; final: number },
  now: number,
): ProgressStats {
  const total = totalOf(counts)
  const final = finalOf(counts)
  const elapsedSec = (now - start.at) / 1000
  const gained = final - start.final
  const ratePerSec = elapsedSec > 0 && gained > 0 ? gained / elapsedSec : null
  const etaMs = ratePerSec ? Math.round(((total - final) / ratePerSec) * 1000) : null
  return { total, final, ratePerSec, etaMs }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

function countsText(counts: StatusCounts): string {
  return IMPORT_STATUSES.filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${s} ${counts[s]}`)
    .join(', ')
}

function rateText(stats: ProgressStats): string {
  const rate = stats.ratePerSec === null ? 'rate -' : `${stats.ratePerSec.toFixed(1)}/s`
  const eta =
    stats.final === stats.total
      ? 'done'
      : stats.etaMs === null
        ? 'ETA -'
        : `ETA ${formatDuration(stats.etaMs)}`
  return `${rate}, ${eta}`
}

const percent = (stats: ProgressStats) =>
  stats.total === 0 ? 100 : Math.floor((stats.final / stats.total) * 100)

/** One self-contained line for logs and pipes. */
export function formatPlainLine(counts: StatusCounts, stats: ProgressStats): string {
  return `progress: ${stats.final}/${stats.total} final (${percent(stats)}%) | ${countsText(counts) || 'no imports'} | ${rateText(stats)}`
}

/** The TTY bar, fitted to `columns`. */
export function formatBar(counts: StatusCounts, stats: ProgressStats, columns = 80): string {
  const tail = ` ${percent(stats)}% ${stats.final}/${stats.total} | ${countsText(counts)} | ${rateText(stats)}`
  const width = Math.max(10, Math.min(40, columns - tail.length - 3))
  const filled = stats.total === 0 ? width : Math.round((stats.final / stats.total) * width)
  const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`
  return line.length >= columns ? line.slice(0, columns - 1) : line
}

export interface ProgressOptions {
  /** Redraw one line in place (a terminal) instead of printing plain lines. */
  tty: boolean
  now?: () => number
  /** Off a TTY, at most one line per this many ms (the final line always prints). */
  plainEveryMs?: number
}

export interface Progress {
  update(counts: StatusCounts): void
  /** Prints the last state and ends the line. */
  done(counts: StatusCounts): void
}

export function createProgress(out: OutputStream, options: ProgressOptions): Progress {
  const now = options.now ?? Date.now
  const plainEveryMs = options.plainEveryMs ?? 5000
  let start: { at: number; final: number } | null = null
  let lastPlainAt = Number.NEGATIVE_INFINITY

  const render = (counts: StatusCounts, last: boolean) => {
    const at = now()
    start ??= { at, final: finalOf(counts) }
    const stats = progressStats(counts, start, at)
    if (options.tty) {
      out.write(`\r\x1b[2K${formatBar(counts, stats, out.columns ?? 80)}${last ? '\n' : ''}`)
      return
    }
    if (last || at - lastPlainAt >= plainEveryMs) {
      out.write(`${formatPlainLine(counts, stats)}\n`)
      lastPlainAt = at
    }
  }

  return {
    update: (counts) => render(counts, false),
    done: (counts) => render(counts, true),
  }
}
