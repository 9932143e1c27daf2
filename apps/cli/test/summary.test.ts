import { describe, expect, it } from 'vitest'
import { ExitCode } from '../src/exit-codes.js'
import { exitCodeFor, failedImport, formatSummary } from '../src/summary.js'

describe('summary', () => {
  it('shows counts by state, failures with their IMS code and reason, rejected lines; exit 1', () => {
    const summary = {
      counts: { succeeded: 7, failed: 2, cancelled: 1 },
      failures: [
        failedImport(
          {
            id: 'imp_A',
            status: 'failed',
            target: 't',
            created_at: '',
            ims: { error_code: 'IMG.0058', fail_reason: 'the bucket is not\nin this region' },
          },
          12,
        ),
        failedImport(
          {
            id: 'imp_B',
            status: 'failed',
            target: 't',
            created_at: '',
            error: { source: 'service', code: 'deadline_exceeded', message: 'no answer in 24 h' },
          },
          null,
        ),
      ],
      rejected: [
        { line: 9, errors: [{ path: 'min_disk', message: 'must be at most 1024', ims_code: 'IMG.0055' }] },
        { line: 3, errors: [{ path: '', message: 'not valid JSON' }] },
      ],
    }
    const text = formatSummary(summary)
    expect(text).toContain('  succeeded  7')
    expect(text).toContain('  failed     2')
    expect(text).toContain('  total      10')
    expect(text).toContain('  rejected   2')
    expect(text).toMatch(/12 +imp_A +IMG\.0058 +the bucket is not in this region/)
    expect(text).toMatch(/- +imp_B +deadline_exceeded +no answer in 24 h/)
    expect(text.indexOf('line 3: not valid JSON')).toBeLessThan(
      text.indexOf('line 9: min_disk: must be at most 1024 [IMG.0055]'),
    )
    expect(exitCodeFor(summary)).toBe(ExitCode.failures)
  })

  it('exits 0 when everything was accepted and nothing failed (cancelled is not a failure)', () => {
    expect(exitCodeFor({ counts: { queued: 5, cancelled: 1 }, failures: [], rejected: [] })).toBe(ExitCode.ok)
    expect(formatSummary({ counts: { queued: 5 }, failures: [], rejected: [] })).toContain('Result: ok')
  })

  it('exits 1 for a rejected line alone, and for failed counts even without details', () => {
    expect(exitCodeFor({ counts: { queued: 5 }, failures: [], rejected: [{ line: 1, errors: [] }] })).toBe(
      ExitCode.failures,
    )
    expect(exitCodeFor({ counts: { failed: 1 }, failures: [], rejected: [] })).toBe(ExitCode.failures)
  })
})
