import type { BatchExpectedFinish, ExpectedFinish } from '@ims-importer/api-client'

// Expected finish times as `watch` shows them: a clock time ("ETA 14:32"), with the spread of a
// running import ("±6 min", half its p10..p90 range) or "≥" when a batch's is a lower bound.

/** The expected finish of what is being watched: the latest known end, and whether all are known. */
export interface WatchFinish {
  /** ms since epoch */
  at: number
  /** False when some open import or batch has no expectation: `at` is then a lower bound. */
  complete: boolean
}

/** One open batch or import and what is expected of it (null: nothing known yet). */
export type OpenFinish = BatchExpectedFinish | { at: string; complete: true } | null

/** The finish of several open batches and imports: the last known one; null when none is known. */
export function combineFinishes(open: readonly OpenFinish[]): WatchFinish | null {
  let at: number | null = null
  let complete = true
  for (const f of open) {
    const ms = f ? Date.parse(f.at) : Number.NaN
    if (!f || !Number.isFinite(ms)) {
      complete = false
      continue
    }
    if (!f.complete) complete = false
    at = Math.max(at ?? ms, ms)
  }
  return at === null ? null : { at, complete }
}

/** Calendar fields of `ms` in `timeZone` (default: the machine's). */
function fields(ms: number, timeZone?: string) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms))
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  return { day: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` }
}

/** "14:32" today, "2026-12-08 14:32" on another day (both in `timeZone`). */
export function formatClock(ms: number, now: number, timeZone?: string): string {
  const at = fields(ms, timeZone)
  return at.day === fields(now, timeZone).day ? at.time : `${at.day} ${at.time}`
}

/** Half a range as a person says it: "±40 s", "±6 min", "±2.5 h". */
export function formatSpread(halfMs: number): string {
  const s = Math.round(Math.max(0, halfMs) / 1000)
  if (s < 60) return `±${s} s`
  const min = Math.round(s / 60)
  if (min < 120) return `±${min} min`
  return `±${(min / 60).toFixed(1)} h`
}

/** A running import: "ETA 14:32 (±6 min)", "ETA -" while nothing is known. */
export function formatImportEta(finish: ExpectedFinish | null | undefined, now: number, timeZone?: string) {
  const at = finish ? Date.parse(finish.at) : Number.NaN
  if (!finish || !Number.isFinite(at)) return 'ETA -'
  const half = (Date.parse(finish.p90_at) - Date.parse(finish.p10_at)) / 2
  const spread = Number.isFinite(half) ? formatSpread(half) : null
  const late = at < now ? 'overdue' : null
  const notes = [spread, late].filter(Boolean).join(', ')
  return `ETA ${formatClock(at, now, timeZone)}${notes ? ` (${notes})` : ''}`
}

/** A batch or everything watched: "ETA 14:32", or "ETA ≥ 14:32" for a lower bound. */
export function formatGroupEta(finish: WatchFinish, now: number, timeZone?: string): string {
  return `ETA ${finish.complete ? '' : '≥ '}${formatClock(finish.at, now, timeZone)}`
}
