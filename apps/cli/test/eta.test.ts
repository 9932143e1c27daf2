import type { ExpectedFinish } from '@ims-importer/api-client'
import { describe, expect, it } from 'vitest'
import { combineFinishes, formatClock, formatGroupEta, formatImportEta, formatSpread } from '../src/eta.js'
import { createProgress, formatRunningLines, type WatchEta } from '../src/progress.js'

const MIN = 60_000
const NOW = Date.parse('2026-12-06T14:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
const finish = (at: number, halfMs: number): ExpectedFinish => ({
  at: iso(at),
  p10_at: iso(at - halfMs),
  p90_at: iso(at + halfMs),
  basis: 'progress',
  estimated_at: iso(NOW),
})

function sink(isTTY: boolean) {
  const chunks: string[] = []
  return { chunks, out: { isTTY, columns: 120, write: (s: string) => void chunks.push(s) } }
}

describe('expected finish as watch writes it', () => {
  it('writes a running import as a clock time with half its p10..p90 range', () => {
    expect(formatImportEta(finish(NOW + 32 * MIN, 6 * MIN), NOW, 'UTC')).toBe('ETA 14:32 (±6 min)')
    expect(formatImportEta(finish(NOW + 2 * MIN, 20_000), NOW, 'UTC')).toBe('ETA 14:02 (±20 s)')
    expect(formatImportEta(finish(NOW + 300 * MIN, 150 * MIN), NOW, 'UTC')).toBe('ETA 19:00 (±2.5 h)')
    expect(formatImportEta(finish(NOW - 3 * MIN, 60_000), NOW, 'UTC')).toBe('ETA 13:57 (±1 min, overdue)')
    expect(formatImportEta(null, NOW, 'UTC')).toBe('ETA -')
  })

  it('writes the day when the finish is not today, in the time zone asked for', () => {
    expect(formatClock(NOW + 11 * 60 * MIN, NOW, 'UTC')).toBe('2026-12-07 01:00')
    expect(formatClock(NOW, NOW, 'Europe/Berlin')).toBe('15:00')
    expect(formatSpread(0)).toBe('±0 s')
  })

  it('writes a group as a clock time, with ≥ when it is a lower bound', () => {
    expect(formatGroupEta({ at: NOW + 32 * MIN, complete: true }, NOW, 'UTC')).toBe('ETA 14:32')
    expect(formatGroupEta({ at: NOW + 32 * MIN, complete: false }, NOW, 'UTC')).toBe('ETA ≥ 14:32')
  })

  it('combines batches and imports: the last known end, a lower bound if any is unknown', () => {
    const a = { at: iso(NOW + 10 * MIN), complete: true as const }
    const b = { at: iso(NOW + 40 * MIN), complete: true as const }
    expect(combineFinishes([a, b])).toEqual({ at: NOW + 40 * MIN, complete: true })
    expect(combineFinishes([a, { ...b, complete: false }])).toEqual({ at: NOW + 40 * MIN, complete: false })
    expect(combineFinishes([a, null])).toEqual({ at: NOW + 10 * MIN, complete: false })
    expect(combineFinishes([null, null])).toBeNull()
    expect(combineFinishes([])).toBeNull()
  })
})

describe('progress with expected finishes', () => {
  const eta: WatchEta = {
    finish: { at: NOW + 70 * MIN, complete: false },
    running: [
      { id: 'imp_a', expected_finish: finish(NOW + 32 * MIN, 6 * MIN) },
      { id: 'imp_b', expected_finish: null },
    ],
    moreRunning: 0,
  }

  it('off a TTY: the ETA on the progress line, one line per running import', () => {
    const { chunks, out } = sink(false)
    const progress = createProgress(out, { tty: false, now: () => NOW, timeZone: 'UTC' })
    progress.update({ queued: 3, running: 2 }, eta)
    expect(chunks.join('')).toBe(
      [
        'progress: 0/5 final (0%) | queued 3, running 2 | rate -, ETA ≥ 15:10',
        '  running imp_a ETA 14:32 (±6 min)',
        '  running imp_b ETA -',
        '',
      ].join('\n'),
    )
  })

  it('keeps the rate-based time left while the service knows nothing', () => {
    const { chunks, out } = sink(false)
    let t = NOW
    const progress = createProgress(out, { tty: false, now: () => t, plainEveryMs: 0, timeZone: 'UTC' })
    progress.update({ queued: 4 }, { finish: null, running: [], moreRunning: 0 })
    t += 2000
    progress.update({ queued: 2, succeeded: 2 }, { finish: null, running: [], moreRunning: 0 })
    expect(chunks[1]).toBe('progress: 2/4 final (50%) | queued 2, succeeded 2 | 1.0/s, ETA 2s\n')
  })

  it('lists at most 10 running imports and counts the rest', () => {
    const many: WatchEta = {
      finish: null,
      running: Array.from({ length: 12 }, (_, i) => ({ id: `imp_${i}`, expected_finish: null })),
      moreRunning: 28,
    }
    const lines = formatRunningLines(many, { now: NOW, timeZone: 'UTC' })
    expect(lines).toHaveLength(11)
    expect(lines.at(-1)).toBe('  … 30 more running')
  })

  it('on a TTY: redraws the bar and the running lines in place, and clears them when done', () => {
    const { chunks, out } = sink(true)
    const progress = createProgress(out, { tty: true, now: () => NOW, timeZone: 'UTC' })
    progress.update({ queued: 3, running: 2 }, eta)
    progress.update({ queued: 3, running: 1, succeeded: 1 }, { ...eta, running: eta.running.slice(0, 1) })
    progress.done({ succeeded: 5 })
    const [first, second, last] = chunks
    expect(first?.startsWith('\r\x1b[2K[')).toBe(true)
    expect(first).toContain('ETA ≥ 15:10')
    expect(first).toContain('\n\r\x1b[2K  running imp_a ETA 14:32 (±6 min)')
    expect(first).toContain('\n\r\x1b[2K  running imp_b ETA -')
    expect(first?.endsWith('\n')).toBe(false)
    // Two lines up to the bar, one running line, the leftover line cleared.
    expect(second?.startsWith('\x1b[2A\r\x1b[2K[')).toBe(true)
    expect(second?.endsWith('\x1b[J')).toBe(true)
    expect(second).not.toContain('imp_b')
    expect(last?.startsWith('\x1b[1A\r\x1b[2K[')).toBe(true)
    expect(last?.endsWith('\x1b[J\n')).toBe(true)
    expect(last).toContain('100% 5/5')
  })
})
