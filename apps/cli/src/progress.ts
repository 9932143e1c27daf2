import {
  type ExpectedFinish,
  FINAL_STATUSES,
  IMPORT_STATUSES,
  type StatusCounts,
} from '@ims-importer/api-client'
import { formatBytes } from './bytes.js'
import { formatGroupEta, formatImportEta, type WatchFinish } from './eta.js'

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

/** What the service expects of the watched imports (GET /v1/batches/{id}, /v1/imports/{id}). */
export interface WatchEta {
  /** Everything watched: the last expected end; null while nothing is known. */
  finish: WatchFinish | null
  /** Running imports with their expected finish and file size (null: not known yet). */
  running: { id: string; expected_finish: ExpectedFinish | null; size_bytes?: number | null }[]
  /** Running imports beyond those listed. */
  moreRunning: number
}

/** How to write times: the clock and its time zone (default: the machine's). */
export interface EtaClock {
  now: number
  timeZone?: string
}

/** Running imports listed under the progress line at most; the rest are counted. */
export const MAX_RUNNING_LINES = 10

/**
 * The rate and the time left: the service's expected finish when it knows one ("ETA 14:32",
 * "ETA ≥ 14:32" for a lower bound), else the time left at the rate seen so far ("ETA 5s").
 */
function rateText(stats: ProgressStats, eta?: WatchEta | null, clock?: EtaClock): string {
  const rate = stats.ratePerSec === null ? 'rate -' : `${stats.ratePerSec.toFixed(1)}/s`
  const left =
    stats.final === stats.total
      ? 'done'
      : eta?.finish && clock
        ? formatGroupEta(eta.finish, clock.now, clock.timeZone)
        : stats.etaMs === null
          ? 'ETA -'
          : `ETA ${formatDuration(stats.etaMs)}`
  return `${rate}, ${left}`
}

/**
 * One line per running import ("  running imp_… 37.3 GiB ETA 14:32 (±6 min)", the size when the
 * pre-flight found it), at most MAX_RUNNING_LINES.
 */
export function formatRunningLines(eta: WatchEta | null | undefined, clock: EtaClock): string[] {
  if (!eta) return []
  const shown = eta.running.slice(0, MAX_RUNNING_LINES)
  const more = eta.running.length - shown.length + eta.moreRunning
  const lines = shown.map(
    (r) =>
      `  running ${r.id} ${r.size_bytes == null ? '' : `${formatBytes(r.size_bytes)} `}${formatImportEta(r.expected_finish, clock.now, clock.timeZone)}`,
  )
  if (more > 0) lines.push(`  … ${more} more running`)
  return lines
}

const percent = (stats: ProgressStats) =>
  stats.total === 0 ? 100 : Math.floor((stats.final / stats.total) * 100)

/** One self-contained line for logs and pipes. */
export function formatPlainLine(
  counts: StatusCounts,
  stats: ProgressStats,
  eta?: WatchEta | null,
  clock?: EtaClock,
): string {
  return `progress: ${stats.final}/${stats.total} final (${percent(stats)}%) | ${countsText(counts) || 'no imports'} | ${rateText(stats, eta, clock)}`
}

/** The TTY bar, fitted to `columns`. */
export function formatBar(
  counts: StatusCounts,
  stats: ProgressStats,
  columns = 80,
  eta?: WatchEta | null,
  clock?: EtaClock,
): string {
  const tail = ` ${percent(stats)}% ${stats.final}/${stats.total} | ${countsText(counts)} | ${rateText(stats, eta, clock)}`
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
  /** Time zone of the ETAs shown (default: the machine's). */
  timeZone?: string
}

export interface Progress {
  /** Draws the counts, and with `eta` the expected finish and one line per running import. */
  update(counts: StatusCounts, eta?: WatchEta | null): void
  /** Prints the last state and ends the line. */
  done(counts: StatusCounts): void
}

export function createProgress(out: OutputStream, options: ProgressOptions): Progress {
  const now = options.now ?? Date.now
  const plainEveryMs = options.plainEveryMs ?? 5000
  let start: { at: number; final: number } | null = null
  let lastPlainAt = Number.NEGATIVE_INFINITY
  /** Lines under the bar drawn last time (a TTY redraws them in place). */
  let linesBelow = 0

  const render = (counts: StatusCounts, last: boolean, eta?: WatchEta | null) => {
    const at = now()
    start ??= { at, final: finalOf(counts) }
    const stats = progressStats(counts, start, at)
    const clock: EtaClock = { now: at, ...(options.timeZone ? { timeZone: options.timeZone } : {}) }
    const running = last ? [] : formatRunningLines(eta, clock)
    if (options.tty) {
      const columns = out.columns ?? 80
      const fit = (line: string) => (line.length >= columns ? line.slice(0, columns - 1) : line)
      // Back to the bar's line, redraw it and the lines under it, clear what the last draw left below.
      const up = linesBelow > 0 ? `\x1b[${linesBelow}A` : ''
      const clear = running.length < linesBelow ? '\x1b[J' : ''
      const below = running.map((l) => `\n\r\x1b[2K${fit(l)}`).join('')
      out.write(
        `${up}\r\x1b[2K${formatBar(counts, stats, columns, eta, clock)}${below}${clear}${last ? '\n' : ''}`,
      )
      linesBelow = running.length
      return
    }
    if (last || at - lastPlainAt >= plainEveryMs) {
      out.write(`${[formatPlainLine(counts, stats, eta, clock), ...running].join('\n')}\n`)
      lastPlainAt = at
    }
  }

  return {
    update: (counts, eta) => render(counts, false, eta),
    done: (counts) => render(counts, true),
  }
}
