import { describe, expect, it } from 'vitest'
import { createProgress, formatBar, formatDuration, progressStats } from '../src/progress.js'

function sink(isTTY: boolean) {
  const chunks: string[] = []
  return { chunks, out: { isTTY, columns: 100, write: (s: string) => void chunks.push(s) } }
}

describe('progress off a TTY', () => {
  it('prints one plain line per interval, then the final line, without escape codes', () => {
    let t = 0
    const { chunks, out } = sink(false)
    const progress = createProgress(out, { tty: false, now: () => t, plainEveryMs: 5000 })
    progress.update({ queued: 100 })
    t = 2000
    progress.update({ queued: 80, running: 10, succeeded: 10 })
    t = 5000
    progress.update({ queued: 40, running: 10, succeeded: 45, failed: 5 })
    t = 6000
    progress.done({ succeeded: 90, failed: 10 })

    expect(chunks).toHaveLength(3)
    for (const c of chunks) {
      expect(c.endsWith('\n')).toBe(true)
      expect(c).not.toContain('\r')
      expect(c).not.toContain('\u001b')
    }
    expect(chunks[0]).toBe('progress: 0/100 final (0%) | queued 100 | rate -, ETA -\n')
    // 50 reached a final state in 5 s: 10/s, 50 left: 5 s.
    expect(chunks[1]).toBe(
      'progress: 50/100 final (50%) | queued 40, running 10, succeeded 45, failed 5 | 10.0/s, ETA 5s\n',
    )
    expect(chunks[2]).toBe('progress: 100/100 final (100%) | succeeded 90, failed 10 | 16.7/s, done\n')
  })
})

describe('progress on a TTY', () => {
  it('redraws one line in place and ends it when done', () => {
    let t = 0
    const { chunks, out } = sink(true)
    const progress = createProgress(out, { tty: true, now: () => t })
    progress.update({ queued: 4 })
    t = 1000
    progress.update({ queued: 2, succeeded: 2 })
    t = 2000
    progress.done({ succeeded: 4 })
    expect(chunks).toHaveLength(3)
    for (const c of chunks.slice(0, 2)) {
      expect(c.startsWith('\r\x1b[2K[')).toBe(true)
      expect(c).not.toContain('\n')
    }
    expect(chunks[1]).toContain(' 50% 2/4 ')
    expect(chunks[2]?.endsWith('\n')).toBe(true)
    expect(chunks[2]).toContain('100% 4/4')
  })

  it('fits the bar into the terminal width', () => {
    const stats = progressStats({ queued: 10, succeeded: 10 }, { at: 0, final: 0 }, 1000)
    const line = formatBar({ queued: 10, succeeded: 10 }, stats, 60)
    expect(line.length).toBeLessThan(60)
    expect(formatBar({ queued: 10, succeeded: 10 }, stats, 200)).toMatch(/^\[#{20}-{20}\] 50% 10\/20/)
  })
})

describe('durations', () => {
  it('reads like a person would write them', () => {
    expect(formatDuration(4_400)).toBe('4s')
    expect(formatDuration(125_000)).toBe('2m05s')
    expect(formatDuration(3_900_000)).toBe('1h05m')
  })
})
