import { appendFileSync } from 'node:fs'
import { type ImportRecord, isFinal } from '@ims-importer/core'
import type { RunningSimulator } from 'ims-simulator'

/** One line of the chaos results table. */
export interface ChaosRow {
  scenario: string
  /** Imports the API accepted (202). */
  imports: number
  /** Accepted imports that are missing afterwards or never reached a final state. */
  lost: number
  /** Import markers IMS saw more than one create for (all simulators of the scenario). */
  duplicates: number
  final: { succeeded: number; failed: number; cancelled: number }
  /** What happened to the system during the run (kills, outages, fault phases). */
  notes: string
  seconds: number
}

/** Markers (import ids) with more than one create in any of the simulators. */
export function duplicateMarkers(sims: RunningSimulator[]): string[] {
  const dups: string[] = []
  for (const sim of sims)
    for (const [marker, n] of Object.entries(sim.control.counters().createsByMarker))
      if (n > 1) dups.push(marker)
  return dups
}

/** Accepted ids that have no record or a non-final one. */
export function lostIds(accepted: string[], records: Map<string, ImportRecord>): string[] {
  return accepted.filter((id) => {
    const r = records.get(id)
    return !r || !isFinal(r.status)
  })
}

/** The lost ids (as `lostIds`) with the status each was left in, for an assertion that names them. */
export function lostWithStatus(accepted: string[], records: Map<string, ImportRecord>): [string, string][] {
  return lostIds(accepted, records).map((id) => [id, records.get(id)?.status ?? 'missing'])
}

export function summarize(
  scenario: string,
  accepted: string[],
  records: Map<string, ImportRecord>,
  sims: RunningSimulator[],
  notes: string,
  startedAt: number,
): ChaosRow {
  const final = { succeeded: 0, failed: 0, cancelled: 0 }
  for (const id of accepted) {
    const s = records.get(id)?.status
    if (s === 'succeeded' || s === 'failed' || s === 'cancelled') final[s]++
  }
  return {
    scenario,
    imports: accepted.length,
    lost: lostIds(accepted, records).length,
    duplicates: duplicateMarkers(sims).length,
    final,
    notes: `${notes}${preflightNote(accepted, records, sims)}`,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  }
}

/**
 * The pre-flight's share of the run: OBS requests the simulators answered (per accepted import),
 * imports whose record has the file it read, and imports it failed. Empty without OBS traffic.
 */
export function preflightNote(
  accepted: string[],
  records: Map<string, ImportRecord>,
  sims: RunningSimulator[],
): string {
  const obs = sims.reduce((n, sim) => n + (sim.control.counters().requests.obs ?? 0), 0)
  let withFile = 0
  let stopped = 0
  let submitMs = 0
  let submitted = 0
  for (const id of accepted) {
    const r = records.get(id)
    if (r?.file) withFile++
    if (r?.error?.source === 'preflight') stopped++
    if (r?.submitted_at) {
      submitMs += Date.parse(r.submitted_at) - Date.parse(r.created_at)
      submitted++
    }
  }
  if (obs === 0 && withFile === 0) return ''
  const perImport = accepted.length ? (obs / accepted.length).toFixed(2) : '-'
  const toSubmit = submitted ? ` mean intake->submit ${Math.round(submitMs / submitted)} ms;` : ''
  return `; pre-flight: ${obs} OBS requests (${perImport}/import), file read for ${withFile}, stopped ${stopped};${toSubmit}`.replace(
    /;$/,
    '',
  )
}

const finalStates = (f: ChaosRow['final']) =>
  `${f.succeeded} succeeded, ${f.failed} failed, ${f.cancelled} cancelled`

/** The rows as a markdown table, aligned as the repository's formatter (Biome) writes it. */
export function markdownTable(rows: ChaosRow[]): string {
  const columns: { title: string; right: boolean; cell: (r: ChaosRow) => string }[] = [
    { title: 'scenario', right: false, cell: (r) => r.scenario },
    { title: 'imports', right: true, cell: (r) => String(r.imports) },
    { title: 'lost', right: true, cell: (r) => String(r.lost) },
    { title: 'duplicates', right: true, cell: (r) => String(r.duplicates) },
    { title: 'final states', right: false, cell: (r) => finalStates(r.final) },
    { title: 'run', right: true, cell: (r) => `${r.seconds} s` },
    { title: 'notes', right: false, cell: (r) => r.notes },
  ]
  const cells = rows.map((r) => columns.map((c) => c.cell(r).replaceAll('|', '\\|')))
  const widths = columns.map((c, i) =>
    Math.max(3, c.title.length, ...cells.map((row) => (row[i] as string).length)),
  )
  const line = (values: string[]) =>
    `| ${values.map((v, i) => (columns[i]?.right ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join(' | ')} |`
  const rule = `| ${columns.map((c, i) => (c.right ? `${'-'.repeat((widths[i] ?? 3) - 1)}:` : '-'.repeat(widths[i] ?? 3))).join(' | ')} |`
  return `${[line(columns.map((c) => c.title)), rule, ...cells.map(line)].join('\n')}\n`
}

/**
 * Prints the row and, in a `pnpm test:chaos` run (which provides the file), appends it to the
 * run's results for the table printed at the end.
 */
export function reportRow(row: ChaosRow, resultsFile: string | undefined): void {
  process.stdout.write(`chaos: ${JSON.stringify(row)}\n`)
  if (resultsFile) appendFileSync(resultsFile, `${JSON.stringify(row)}\n`)
}

/** For a failure message: each duplicate's record history and the POSTs IMS saw for it. */
export function explainDuplicates(
  dups: string[],
  records: Map<string, ImportRecord>,
  sims: RunningSimulator[],
): string {
  return dups
    .slice(0, 5)
    .map((id) => {
      const r = records.get(id)
      const posts = sims.flatMap((s) =>
        s.control
          .requestLog('quickImport')
          .filter((e) => e.marker === id)
          .map((e) => `${new Date(e.at).toISOString().slice(11, 23)} ${e.status}`),
      )
      const history = (r?.history ?? [])
        .map((h) => `${h.at.slice(11, 23)} ${h.status}${h.reason ? ` (${h.reason})` : ''}`)
        .join('; ')
      return `${id}: status ${r?.status}, attempts ${JSON.stringify(r?.attempts)}, adopted ${r?.ims.adopted}\n  history: ${history}\n  POSTs: ${posts.join(', ')}`
    })
    .join('\n')
}
