import { IMPORT_STATUSES, type ImportView, type StatusCounts } from '@ims-importer/api-client'
import { ExitCode } from './exit-codes.js'
import { totalOf } from './progress.js'
import type { RejectedLine } from './read-items.js'

export interface FailedImport {
  id: string
  /** Line of the input file, when the import came from one. */
  line: number | null
  /** IMS error code (IMG.xxxx) or the service's code. */
  code: string | null
  reason: string
}

export interface Summary {
  counts: StatusCounts
  failures: FailedImport[]
  rejected: RejectedLine[]
}

export function failedImport(view: ImportView, line: number | null = null): FailedImport {
  return {
    id: view.id,
    line,
    code: view.ims?.error_code ?? view.error?.code ?? null,
    reason: view.ims?.fail_reason ?? view.error?.message ?? 'failed (no reason recorded)',
  }
}

export function exitCodeFor(summary: Summary): ExitCode {
  const failed = Math.max(summary.counts.failed ?? 0, summary.failures.length)
  return failed > 0 || summary.rejected.length > 0 ? ExitCode.failures : ExitCode.ok
}

function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) =>
    (
      indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')
    ).trimEnd(),
  )
}

const oneLine = (s: string, max = 160) => {
  const flat = s.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** The closing report: imports by state, failed imports with their codes, rejected lines. */
export function formatSummary(summary: Summary): string {
  const out: string[] = ['', 'Summary']
  const total = totalOf(summary.counts)
  const stateRows = IMPORT_STATUSES.filter((s) => (summary.counts[s] ?? 0) > 0).map((s) => [
    s,
    String(summary.counts[s]),
  ])
  out.push(
    ...table([
      ['state', 'imports'],
      ...stateRows,
      ['total', String(total)],
      ['rejected', String(summary.rejected.length)],
    ]),
  )

  if (summary.failures.length > 0) {
    out.push('', `Failed imports (${summary.failures.length})`)
    out.push(
      ...table([
        ['line', 'import', 'code', 'reason'],
        ...summary.failures.map((f) => [
          f.line === null ? '-' : String(f.line),
          f.id,
          f.code ?? '-',
          oneLine(f.reason),
        ]),
      ]),
    )
  }
  if (summary.rejected.length > 0) {
    out.push('', `Rejected lines (${summary.rejected.length})`)
    for (const r of [...summary.rejected].sort((a, b) => a.line - b.line)) {
      const reasons = r.errors
        .map(
          (e) => `${e.path ? `${e.path}: ` : ''}${oneLine(e.message)}${e.ims_code ? ` [${e.ims_code}]` : ''}`,
        )
        .join('; ')
      out.push(`  line ${r.line}: ${reasons || 'rejected'}`)
    }
  }
  const code = exitCodeFor(summary)
  out.push('', code === ExitCode.ok ? 'Result: ok' : 'Result: some imports failed or lines were rejected')
  return `${out.join('\n')}\n`
}
